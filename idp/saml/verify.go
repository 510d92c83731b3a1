package saml

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Errors of signature checking.
var (
	// ErrUnsigned reports a message without a signature where one is
	// required.
	ErrUnsigned = errors.New("saml: signature required")
	// ErrBadSignature reports a signature that does not verify with the
	// sender's keys, or an XML signature of a shape cnsgate does not accept.
	ErrBadSignature = errors.New("saml: invalid signature")
	// ErrWeakAlgorithm reports a signature or digest algorithm below
	// SHA-256 (SHA-1 above all) or one cnsgate does not implement.
	ErrWeakAlgorithm = errors.New("saml: signature algorithm refused")
)

// signatureHashes are the accepted signature methods, RSA only: SHA-1 is
// refused, and so is anything else.
var signatureHashes = map[string]crypto.Hash{
	dsig.RSASHA256SignatureMethod: crypto.SHA256,
	dsig.RSASHA384SignatureMethod: crypto.SHA384,
	dsig.RSASHA512SignatureMethod: crypto.SHA512,
}

// digestMethods are the accepted reference digests of an XML signature.
var digestMethods = map[string]bool{
	"http://www.w3.org/2001/04/xmlenc#sha256":       true,
	"http://www.w3.org/2001/04/xmldsig-more#sha384": true,
	"http://www.w3.org/2001/04/xmlenc#sha512":       true,
}

// transforms are the accepted reference transforms (the SAML profile of
// XML-DSig: enveloped signature, exclusive canonicalization).
var transforms = map[string]bool{
	string(dsig.EnvelopedSignatureAltorithmId):      true,
	string(dsig.CanonicalXML10ExclusiveAlgorithmId): true,
}

// usableKey returns the RSA key of c when it may verify a signature at now:
// at least minRSABits and within the certificate's validity.
func usableKey(c *x509.Certificate, now time.Time) *rsa.PublicKey {
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < minRSABits || now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil
	}
	return pub
}

// verifyRedirect checks the query-string signature of a Redirect-binding
// message with any of the sender's certificates.
func verifyRedirect(m *message, certs []*x509.Certificate, now time.Time) error {
	h, ok := signatureHashes[m.sigAlg]
	if !ok {
		return fmt.Errorf("%w: SigAlg %q", ErrWeakAlgorithm, m.sigAlg)
	}
	hh := h.New()
	hh.Write([]byte(m.signedQuery))
	sum := hh.Sum(nil)
	for _, c := range certs {
		if pub := usableKey(c, now); pub != nil && rsa.VerifyPKCS1v15(pub, h, sum, m.signature) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: query signature does not verify with the sender's keys", ErrBadSignature)
}

// verifyEnveloped checks the XML signature of a message and returns the
// signed content, signature removed, as the only bytes to read further:
// whatever an attacker wraps around or beside a signed element is never
// seen. signed is false when the document has no signature at all. A
// signature is accepted only in the one shape SAML uses: a single
// ds:Signature, child of the root element, with a single Reference to the
// root's ID (or, for metadata when wholeDoc, to the whole document),
// SHA-256 or stronger, RSA of at least minRSABits.
func verifyEnveloped(data []byte, certs []*x509.Certificate, now time.Time, wholeDoc bool) (verified []byte, signed bool, err error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	root := doc.Root()
	if root == nil {
		return nil, false, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	var sigs []*etree.Element
	walk(root, func(el *etree.Element) {
		if el.Tag == dsig.SignatureTag && el.NamespaceURI() == dsig.Namespace {
			sigs = append(sigs, el)
		}
	})
	switch {
	case len(sigs) == 0:
		return data, false, nil
	case len(sigs) > 1:
		return nil, true, fmt.Errorf("%w: %d signatures", ErrBadSignature, len(sigs))
	case sigs[0].Parent() != root:
		return nil, true, fmt.Errorf("%w: the signature is not on the root element", ErrBadSignature)
	}
	if err := checkSignatureShape(sigs[0], root.SelectAttrValue("ID", ""), wholeDoc); err != nil {
		return nil, true, err
	}
	for _, c := range certs {
		if usableKey(c, now) == nil {
			continue
		}
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
		vc.Clock = dsig.NewFakeClockAt(now)
		out, err := vc.Validate(root)
		if err != nil {
			continue
		}
		d := etree.NewDocument()
		d.SetRoot(out)
		b, err := d.WriteToBytes()
		if err != nil {
			return nil, true, err
		}
		return b, true, nil
	}
	return nil, true, fmt.Errorf("%w: XML signature does not verify with the sender's keys", ErrBadSignature)
}

// checkSignatureShape enforces the algorithms and the single reference.
func checkSignatureShape(sig *etree.Element, rootID string, wholeDoc bool) error {
	si := child(sig, dsig.SignedInfoTag)
	if si == nil {
		return fmt.Errorf("%w: no SignedInfo", ErrBadSignature)
	}
	sm := child(si, dsig.SignatureMethodTag)
	if sm == nil {
		return fmt.Errorf("%w: no SignatureMethod", ErrBadSignature)
	}
	if alg := sm.SelectAttrValue(dsig.AlgorithmAttr, ""); signatureHashes[alg] == 0 {
		return fmt.Errorf("%w: SignatureMethod %q", ErrWeakAlgorithm, alg)
	}
	refs := children(si, dsig.ReferenceTag)
	if len(refs) != 1 {
		return fmt.Errorf("%w: %d references", ErrBadSignature, len(refs))
	}
	uri := refs[0].SelectAttrValue(dsig.URIAttr, "")
	if !(rootID != "" && uri == "#"+rootID) && !(wholeDoc && uri == "") {
		return fmt.Errorf("%w: the reference %q is not the root element", ErrBadSignature, uri)
	}
	dm := child(refs[0], dsig.DigestMethodTag)
	if dm == nil || !digestMethods[dm.SelectAttrValue(dsig.AlgorithmAttr, "")] {
		return fmt.Errorf("%w: digest method", ErrWeakAlgorithm)
	}
	if ts := child(refs[0], dsig.TransformsTag); ts != nil {
		for _, t := range children(ts, dsig.TransformTag) {
			if !transforms[t.SelectAttrValue(dsig.AlgorithmAttr, "")] {
				return fmt.Errorf("%w: transform %q", ErrBadSignature, t.SelectAttrValue(dsig.AlgorithmAttr, ""))
			}
		}
	}
	return nil
}

// child returns the first child element in the XML-DSig namespace with tag.
func child(el *etree.Element, tag string) *etree.Element {
	if cs := children(el, tag); len(cs) > 0 {
		return cs[0]
	}
	return nil
}

func children(el *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == dsig.Namespace {
			out = append(out, c)
		}
	}
	return out
}

func walk(el *etree.Element, fn func(*etree.Element)) {
	fn(el)
	for _, c := range el.ChildElements() {
		walk(c, fn)
	}
}
