package saml

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"
)

// Errors of request validation, besides those of decoding and signatures.
var (
	ErrDestination = errors.New("saml: wrong Destination")
	ErrStale       = errors.New("saml: IssueInstant out of the accepted window")
	ErrReplay      = errors.New("saml: request id seen before")
	ErrACS         = errors.New("saml: assertion consumer service not in the SP metadata")
)

// Time bounds of a request: issued at most requestMaxAge ago and at most
// clockSkew in the future. Its ID is remembered for as long as it could be
// accepted.
const (
	requestMaxAge = 5 * time.Minute
	clockSkew     = 3 * time.Minute
	replayTTL     = requestMaxAge + clockSkew
	nsSeenID      = "samlid"
	maxIDLength   = 256
)

// authnRequestXML is what cnsgate reads of an AuthnRequest.
type authnRequestXML struct {
	XMLName         xml.Name        `xml:"urn:oasis:names:tc:SAML:2.0:protocol AuthnRequest"`
	ID              string          `xml:"ID,attr"`
	Version         string          `xml:"Version,attr"`
	IssueInstant    time.Time       `xml:"IssueInstant,attr"`
	Destination     string          `xml:"Destination,attr"`
	ForceAuthn      bool            `xml:"ForceAuthn,attr"`
	IsPassive       bool            `xml:"IsPassive,attr"`
	ACSIndex        *int            `xml:"AssertionConsumerServiceIndex,attr"`
	ACSURL          string          `xml:"AssertionConsumerServiceURL,attr"`
	ProtocolBinding string          `xml:"ProtocolBinding,attr"`
	Issuer          *crewjam.Issuer `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameIDPolicy    *struct {
		Format string `xml:"Format,attr"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol NameIDPolicy"`
	RequestedAuthnContext *requestedAuthnContext `xml:"urn:oasis:names:tc:SAML:2.0:protocol RequestedAuthnContext"`
}

type requestedAuthnContext struct {
	Comparison string   `xml:"Comparison,attr"`
	ClassRefs  []string `xml:"urn:oasis:names:tc:SAML:2.0:assertion AuthnContextClassRef"`
	DeclRefs   []string `xml:"urn:oasis:names:tc:SAML:2.0:assertion AuthnContextDeclRef"`
}

// authnRequest is a validated AuthnRequest: from a known SP, signed when it
// must be, fresh, never seen before, with an ACS from the SP's metadata.
type authnRequest struct {
	sp         *serviceProvider
	md         *spMetadata
	x          authnRequestXML
	acs        crewjam.IndexedEndpoint
	relayState string
}

// parseAuthnRequestXML reads an AuthnRequest; data passed checkXML.
func parseAuthnRequestXML(data []byte) (*authnRequestXML, error) {
	var x authnRequestXML
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if x.Issuer == nil || strings.TrimSpace(x.Issuer.Value) == "" {
		return nil, fmt.Errorf("%w: no Issuer", ErrMalformed)
	}
	if x.ID == "" || len(x.ID) > maxIDLength {
		return nil, fmt.Errorf("%w: missing or overlong ID", ErrMalformed)
	}
	if x.Version != "2.0" {
		return nil, fmt.Errorf("%w: Version %q", ErrMalformed, x.Version)
	}
	return &x, nil
}

// deniedError is a refusal of an AuthnRequest from a configured SP that
// names an assertion consumer service of the SP's metadata (or none, and
// the metadata has a default): the SP is answered at that ACS with a
// signed Response of status RequestDenied and no assertion, so that it
// knows the login failed. The Response goes to an endpoint the SP itself
// published, carries no RelayState (it is not trusted) and answers the ID
// the request carried.
type deniedError struct {
	err error
	ar  *authnRequest // the SP, its metadata and the ACS; x as received
}

func (e *deniedError) Error() string { return e.err.Error() }
func (e *deniedError) Unwrap() error { return e.err }

// deniable are the refusals answered toward the SP's ACS: authenticity,
// freshness and addressing; the others (an unknown SP or ACS, a malformed
// request, an outage) get an error page only.
var deniable = []error{ErrUnsigned, ErrBadSignature, ErrWeakAlgorithm, ErrDestination, ErrStale, ErrReplay}

// parseAuthnRequest validates a decoded AuthnRequest. A request that names
// an SP that is unknown or an ACS that its metadata lacks, or that cannot
// be read, is answered with an error page, never toward the SP; one whose
// authenticity, freshness or Destination fails is a *deniedError when its
// SP and ACS are known.
func (p *IdP) parseAuthnRequest(ctx context.Context, m *message) (*authnRequest, error) {
	x, err := parseAuthnRequestXML(m.xml)
	if err != nil {
		return nil, err
	}
	issuer := strings.TrimSpace(x.Issuer.Value)
	sp, md, err := p.sps.lookup(issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", err, issuer)
	}
	ar, err := p.checkAuthnRequest(ctx, m, x, sp, md)
	if err == nil {
		return ar, nil
	}
	acs, ok := md.acs(x.ACSIndex, x.ACSURL)
	for _, e := range deniable {
		if ok && errors.Is(err, e) {
			return nil, &deniedError{err: err, ar: &authnRequest{sp: sp, md: md, x: *x, acs: acs}}
		}
	}
	return nil, err
}

// checkAuthnRequest checks the signatures, Destination, instant, ACS and
// freshness of the request x (as received) from sp.
func (p *IdP) checkAuthnRequest(ctx context.Context, m *message, x *authnRequestXML, sp *serviceProvider, md *spMetadata) (*authnRequest, error) {
	issuer := sp.cfg.EntityID
	now := p.now()
	signedXML, signed, err := checkSignatures(m, sp, md, now)
	if err != nil {
		return nil, err
	}
	if signed {
		// Read only what the signature covers.
		if x, err = parseAuthnRequestXML(signedXML); err != nil {
			return nil, err
		}
		if strings.TrimSpace(x.Issuer.Value) != issuer {
			return nil, fmt.Errorf("%w: Issuer changed under the signature", ErrBadSignature)
		}
	}
	if err := p.checkDestination(x.Destination, PathSSO, signed); err != nil {
		return nil, err
	}
	if err := checkInstant(x.IssueInstant, now); err != nil {
		return nil, err
	}
	acs, ok := md.acs(x.ACSIndex, x.ACSURL)
	if !ok {
		return nil, fmt.Errorf("%w: index %s, URL %q", ErrACS, acsIndex(x.ACSIndex), x.ACSURL)
	}
	if x.ProtocolBinding != "" && x.ProtocolBinding != bindingPost {
		return nil, fmt.Errorf("%w: ProtocolBinding %q (HTTP-POST only)", ErrACS, x.ProtocolBinding)
	}
	if err := p.remember(ctx, "authn", issuer, x.ID); err != nil {
		return nil, err
	}
	return &authnRequest{sp: sp, md: md, x: *x, acs: acs, relayState: m.relayState}, nil
}

// acsIndex is AssertionConsumerServiceIndex for a log line: the number, or
// "none" when the request gives none.
func acsIndex(i *int) string {
	if i == nil {
		return "none"
	}
	return strconv.Itoa(*i)
}

// checkSignatures verifies every signature a message carries, on the query
// string and in the XML, and requires one when the SP must sign. It
// returns the signed XML to read when the XML itself is signed.
func checkSignatures(m *message, sp *serviceProvider, md *spMetadata, now time.Time) ([]byte, bool, error) {
	signed := false
	if m.sigAlg != "" || m.signature != nil {
		if err := verifyRedirect(m, md.signing, now); err != nil {
			return nil, true, err
		}
		signed = true
	}
	data, env, err := verifyEnveloped(m.xml, md.signing, now, false)
	if err != nil {
		return nil, true, err
	}
	if env {
		signed = true
	}
	if !signed && sp.requireSigned(md) {
		return nil, false, ErrUnsigned
	}
	return data, signed, nil
}

// checkDestination requires Destination to name this endpoint when it is
// present, and to be present on a signed message (bindings 3.4.5.2).
func (p *IdP) checkDestination(dest, path string, signed bool) error {
	switch {
	case dest == "" && signed:
		return fmt.Errorf("%w: a signed message must name its Destination", ErrDestination)
	case dest != "" && dest != p.issuer+path:
		return fmt.Errorf("%w: %q", ErrDestination, dest)
	}
	return nil
}

func checkInstant(at, now time.Time) error {
	if at.IsZero() || at.Before(now.Add(-requestMaxAge)) || at.After(now.Add(clockSkew)) {
		return fmt.Errorf("%w: %s", ErrStale, at.UTC().Format(time.RFC3339))
	}
	return nil
}

// remember records a request id for its lifetime and refuses one seen
// before.
func (p *IdP) remember(ctx context.Context, kind, sp, id string) error {
	fresh, err := p.eph.PutNew(ctx, nsSeenID, kind+"\n"+sp+"\n"+id, []byte{1}, replayTTL)
	if err != nil {
		return err
	}
	if !fresh {
		return fmt.Errorf("%w: %q", ErrReplay, id)
	}
	return nil
}

// Authentication context classes cnsgate knows, by strength. A card login
// is SmartcardPKI: a certificate on a smart card unlocked by a PIN. A
// class missing here cannot be compared and is never met but by "exact".
var classStrength = map[string]int{
	"urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified":                1,
	"urn:oasis:names:tc:SAML:2.0:ac:classes:InternetProtocol":           1,
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Password":                   2,
	"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport": 3,
	"urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient":                  4,
	"urn:oasis:names:tc:SAML:2.0:ac:classes:X509":                       4,
	"urn:oasis:names:tc:SAML:2.0:ac:classes:SoftwarePKI":                4,
	"urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard":                  4,
	acrSmartcard: 5,
}

// authnContextMet reports whether a card login satisfies the request's
// RequestedAuthnContext (core 3.3.2.2.1): SmartcardPKI for "exact" (the
// default), a listed class no stronger for "minimum", one no weaker for
// "maximum", one weaker for "better". Declaration references are never met.
func authnContextMet(rc *requestedAuthnContext) bool {
	if rc == nil || (len(rc.ClassRefs) == 0 && len(rc.DeclRefs) == 0) {
		return true
	}
	if len(rc.DeclRefs) > 0 {
		return false
	}
	for _, c := range rc.ClassRefs {
		if classMet(strings.TrimSpace(c), rc.Comparison) {
			return true
		}
	}
	return false
}

// classMet reports whether a smart-card login meets the requested class c
// under comparison (SAML core 3.3.2.2.1): exact names it, the others
// compare strengths of known classes.
func classMet(c, comparison string) bool {
	ours := classStrength[acrSmartcard]
	s, known := classStrength[c]
	switch comparison {
	case "", "exact":
		return c == acrSmartcard
	case "minimum":
		return known && s <= ours
	case "maximum":
		return known && s >= ours
	case "better":
		return known && s < ours
	}
	return false
}

// nameIDPolicyMet reports whether the requested NameID format is the one
// configured for the SP (or unspecified).
func nameIDPolicyMet(x *authnRequestXML, sp *serviceProvider) bool {
	if x.NameIDPolicy == nil {
		return true
	}
	switch f := x.NameIDPolicy.Format; f {
	case "", string(crewjam.UnspecifiedNameIDFormat):
		return true
	default:
		return f == sp.nameIDFormat()
	}
}
