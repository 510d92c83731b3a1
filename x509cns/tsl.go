package x509cns

import (
	"bytes"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// ServiceTypeIdV is the ETSI TS 119 612 service type under which AgID's
// trusted list (TSL-IT.xml) lists the CNS and CIE authentication CAs.
const ServiceTypeIdV = "http://uri.etsi.org/TrstSvc/Svctype/IdV"

// DefaultTSLMaxSize bounds a trusted list; the Italian one is a few MiB.
const DefaultTSLMaxSize = 64 << 20

// tslNamespace is the namespace of TS 119 612 (inherited from TS 102 231).
const tslNamespace = "http://uri.etsi.org/02231/v2#"

// Errors of LoadTSL, wrapped with the detail; test with errors.Is.
var (
	// ErrTSLInvalid: too large, not well-formed, DOCTYPE, or not a trusted list.
	ErrTSLInvalid = errors.New("x509cns: invalid trusted list")
	// ErrTSLSignature: a signer is configured and the list's signature is
	// missing or does not verify with exactly that certificate.
	ErrTSLSignature = errors.New("x509cns: trusted list signature not valid")
)

// TSLOptions configures LoadTSL.
type TSLOptions struct {
	// ServiceTypes lists the ServiceTypeIdentifier values whose certificates
	// are loaded; empty means []string{ServiceTypeIdV}.
	ServiceTypes []string
	// Signer, when set, is the only certificate accepted for the list's
	// enveloped XML signature; the list is refused when the signature is
	// missing, invalid, or made with another key, or when Signer is not
	// valid at the store's Now. When nil the signature is not checked and
	// the report says so.
	Signer *x509.Certificate
	// MaxSize bounds the document in bytes; 0 means DefaultTSLMaxSize.
	MaxSize int64
	// Intermediates, when set, receives the certificates of kept services
	// that a self-issued certificate of the same list issued (by name):
	// the CIE SUBCA1 listed beside the CIE root. There they complete a
	// chain below the root, whose revocation of them is then checked, and
	// are never anchors. Without it (and for a sub-CA whose root the list
	// does not hold) every certificate is an anchor.
	Intermediates *IntermediatePool
	// KeepWithdrawn also loads services whose current status withdraws
	// them (see withdrawnStatuses); by default they are skipped.
	KeepWithdrawn bool
}

// LoadTSL adds the CA certificates of an ETSI TS 119 612 trusted list: the
// certificates of every service of a selected type, with those of its
// ServiceHistory instances. The list is parsed and, when configured, its
// signature verified before anything is added: on error the store is left
// untouched. A DOCTYPE (and so any entity declaration) is refused.
func (s *TrustStore) LoadTSL(data []byte, opts TSLOptions) (*LoadReport, error) {
	limit := opts.MaxSize
	if limit <= 0 {
		limit = DefaultTSLMaxSize
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %d bytes, more than the limit of %d", ErrTSLInvalid, len(data), limit)
	}
	if err := checkPlainXML(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTSLInvalid, err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("%w: not well-formed XML: %v", ErrTSLInvalid, err)
	}
	root := doc.Root()
	if err := checkTSLRoot(root); err != nil {
		return nil, err
	}
	now := s.now()
	rep := &LoadReport{Kind: "tsl", Source: "TSL", At: now}
	root, err := checkTSLSignature(root, opts.Signer, now, rep)
	if err != nil {
		return nil, err
	}
	scheme, err := parseTSLScheme(root)
	if err != nil {
		return nil, err
	}
	rep.Scheme = scheme
	todo := selectTSLServices(parseTSLServices(root), opts, rep)
	if opts.Intermediates != nil {
		todo = routeIntermediates(todo, opts.Intermediates, rep)
	}
	for _, p := range todo {
		rep.record(addDER(p.der, p.err, p.meta, s.add))
	}
	return rep, nil
}

// checkTSLSignature verifies the list's signature by signer and returns
// the signed element, the only one then read (no wrapping attacks). With
// no signer configured it returns root and notes the unchecked signature.
func checkTSLSignature(root *etree.Element, signer *x509.Certificate, now time.Time, rep *LoadReport) (*etree.Element, error) {
	if signer == nil {
		rep.Notes = append(rep.Notes, "signature not checked: no TSL signer configured")
		return root, nil
	}
	if err := signatureFirst(root); err != nil {
		return nil, err
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{
		Roots: []*x509.Certificate{signer},
	})
	ctx.IdAttribute = "Id" // TS 119 612 names its ID attribute "Id"
	ctx.Clock = dsig.NewFakeClockAt(now)
	signed, err := ctx.Validate(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTSLSignature, err)
	}
	if err := checkTSLRoot(signed); err != nil {
		return nil, err
	}
	rep.SignatureOK, rep.Signer = true, signer.Subject.String()
	return signed, nil
}

// signatureFirst moves the enveloped signature, which must be the one
// ds:Signature child of root, to be root's first child. goxmldsig (v1.6.1)
// searches the signature depth first within a fixed budget of 1000
// elements and gives up ("traversal limit reached") on a list whose
// signature comes after more: AgID's, like every trusted list, signs at
// the end of tens of thousands. The move changes nothing signed: the
// enveloped-signature transform removes the element wherever it is, and
// the text around its old place stays as it was.
func signatureFirst(root *etree.Element) error {
	var sigs []*etree.Element
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == dsig.Namespace {
			sigs = append(sigs, c)
		}
	}
	switch len(sigs) {
	case 0:
		return fmt.Errorf("%w: no ds:Signature element as a child of TrustServiceStatusList", ErrTSLSignature)
	case 1:
	default:
		return fmt.Errorf("%w: %d ds:Signature elements as children of TrustServiceStatusList, want one", ErrTSLSignature, len(sigs))
	}
	root.RemoveChild(sigs[0])
	root.InsertChildAt(0, sigs[0])
	return nil
}

// pendingCert is a certificate of a kept service, still to be added.
type pendingCert struct {
	der  []byte
	err  error
	meta AddResult
}

// selectTSLServices keeps the services of the wanted types that are not
// withdrawn and hold a certificate, recording the others in rep, and
// returns their certificates.
func selectTSLServices(services []tslService, opts TSLOptions, rep *LoadReport) []pendingCert {
	types := opts.ServiceTypes
	if len(types) == 0 {
		types = []string{ServiceTypeIdV}
	}
	var todo []pendingCert
	for _, svc := range services {
		rep.Services++
		skip := SkippedService{TSP: svc.tsp, Name: svc.name, Type: svc.typ, Status: svc.status}
		switch {
		case !slices.Contains(types, svc.typ):
			skip.Reason = "service_type"
		case !opts.KeepWithdrawn && slices.Contains(withdrawnStatuses, svc.status):
			skip.Reason = "withdrawn"
		case len(svc.certs) == 0:
			skip.Reason = "no_certificate"
		}
		if skip.Reason != "" {
			rep.SkippedServices = append(rep.SkippedServices, skip)
			continue
		}
		rep.ServicesKept++
		todo = append(todo, serviceCerts(svc)...)
	}
	return todo
}

// serviceCerts names each certificate of svc by its provider and service.
func serviceCerts(svc tslService) []pendingCert {
	out := make([]pendingCert, 0, len(svc.certs))
	for _, c := range svc.certs {
		src := "TSL " + svc.tsp + " / " + svc.name
		if c.history {
			src += " (history)"
		}
		out = append(out, pendingCert{der: c.der, err: c.err, meta: AddResult{
			Source: src, ServiceType: svc.typ, ServiceStatus: svc.status,
		}})
	}
	return out
}

// maxTSLDepth bounds the nesting of a trusted list's elements. A real list
// nests about 12 deep; the XML signature code walks the tree recursively,
// and a document nested millions deep would exhaust the stack.
const maxTSLDepth = 64

// checkPlainXML tokenizes the whole document with encoding/xml (strict, no
// charset conversion: a trusted list is UTF-8) and refuses any directive:
// <!DOCTYPE>, and with it every entity declaration, so no entity expansion
// ("billion laughs") or external entity can happen further on.
func checkPlainXML(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	elements, depth := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return fmt.Errorf("DOCTYPE and entity declarations are refused (<!%.20s...>)", t)
		case xml.StartElement:
			elements++
			if depth++; depth > maxTSLDepth {
				return fmt.Errorf("elements nested more than %d deep (a trusted list needs about 12)", maxTSLDepth)
			}
		case xml.EndElement:
			depth--
		}
	}
	if elements == 0 {
		return errors.New("no XML element")
	}
	return nil
}

func checkTSLRoot(root *etree.Element) error {
	if root == nil {
		return fmt.Errorf("%w: no root element", ErrTSLInvalid)
	}
	if root.Tag != "TrustServiceStatusList" || root.NamespaceURI() != tslNamespace {
		return fmt.Errorf("%w: root element is {%s}%s, want {%s}TrustServiceStatusList",
			ErrTSLInvalid, root.NamespaceURI(), root.Tag, tslNamespace)
	}
	return nil
}
