package idp_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/idptest"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// attackEnv is a running login service trusting a CIE root (no path
// length limit, so that sub-CAs of every shape can be presented), with a
// recorder whose counts the attacks read.
type attackEnv struct {
	*idptest.Env
	rec *countingRecorder
}

func newAttackEnv(t *testing.T, proxies *idp.TrustedProxies) *attackEnv {
	t.Helper()
	root, err := cnstest.NewCIERoot()
	if err != nil {
		t.Fatal(err)
	}
	rec := &countingRecorder{}
	e := idptest.New(t, idptest.Options{CA: root, Recorder: rec, Front: idp.FrontDoorOptions{Recorder: rec, Proxies: proxies}})
	return &attackEnv{Env: e, rec: rec}
}

// refused logs card in over the card listener (with req's headers, if
// any) and checks that it is refused with reason: the citizen's page
// (Italian), the login_attempts count and an audit event whose detail holds
// detail.
func (e *attackEnv) refused(t *testing.T, card *cnstest.Card, header http.Header, reason x509cns.Reason, page, detail string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.CNS.URL+"/cns/login", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.Browser(card).Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	p := readPage(t, resp)
	p.must(t, http.StatusForbidden, page)
	e.rec.mu.Lock()
	n := e.rec.logins["failure/"+string(reason)]
	e.rec.mu.Unlock()
	if n != 1 {
		t.Fatalf("login_attempts{failure,%s} = %d, want 1", reason, n)
	}
	// The refusal is audited before the page is written: no waiting.
	all, err := e.Registry.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindLogin, Outcome: registry.OutcomeFailure})
	if err != nil {
		t.Fatal(err)
	}
	var events []registry.Event
	for _, ev := range all {
		if ev.Reason == string(reason) {
			events = append(events, ev)
		}
	}
	if len(events) != 1 || !strings.Contains(string(events[0].Detail), detail) || events[0].RemoteIP == "" {
		t.Fatalf("audit events of %s: %+v, want one with detail %q and the client's address", reason, events, detail)
	}
}

// TestAttackCACertificateAsCard: issue 13 item 5 over the network. A
// certificate with basicConstraints CA:TRUE, issued under a trusted chain,
// is presented as a card.
func TestAttackCACertificateAsCard(t *testing.T) {
	e := newAttackEnv(t, nil)
	sub, err := e.CA.NewSubCA(cnstest.CIESubCA1CN)
	if err != nil {
		t.Fatal(err)
	}
	card := sub.MustIssueCard(cnstest.CardOptions{IsCA: true})
	e.refused(t, card, nil, x509cns.ReasonNotEndEntity, "non è quello di una tessera", "basicConstraints CA:TRUE")
}

// TestAttackBadIntermediates: item 5 over the network. Cards chained
// through an intermediate that must not issue them are refused, each for
// its own fault, even though every signature verifies.
func TestAttackBadIntermediates(t *testing.T) {
	cases := []struct {
		name, detail string
		edit         func(*x509.Certificate)
	}{
		{"server-auth-eku", "extended key usage without clientAuth", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }},
		{"no-keycertsign", "may not sign certificates", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageDigitalSignature }},
		{"not-a-ca", "is not a CA", func(c *x509.Certificate) { c.IsCA, c.MaxPathLen, c.MaxPathLenZero = false, -1, false }},
		{"dns-name-constraints-exclude-card", "exclude DNS name", func(c *x509.Certificate) { c.ExcludedDNSDomains = []string{"cns.example"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newAttackEnv(t, nil)
			sub, err := e.CA.NewSubCA("Rogue sub-CA", cnstest.WithCATemplate(tc.edit))
			if err != nil {
				t.Fatal(err)
			}
			card := sub.MustIssueCard(cnstest.CardOptions{ExtraExtensions: []pkix.Extension{dnsSAN(t, "card.cns.example")}})
			e.refused(t, card, nil, x509cns.ReasonUnknownIssuer, "non è quello di una tessera accettata", tc.detail)
		})
	}
	// The same card under a well-formed sub-CA logs in as far as the
	// registry: the refusals above are the intermediates' doing.
	e := newAttackEnv(t, nil)
	sub, err := e.CA.NewSubCA("Good sub-CA", cnstest.WithCATemplate(func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		c.PermittedDNSDomains = []string{"cns.example"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	card := sub.MustIssueCard(cnstest.CardOptions{ExtraExtensions: []pkix.Extension{dnsSAN(t, "card.cns.example")}})
	e.Browser(card).Get(e.CNS.URL+"/cns/login").Must(t, 200, "Registra TS-CNS")
}

// TestAttackPathLenExceeded: item 5 over the network. A sub-CA with
// pathLen 0 (as every CIE SUBCA and regional CA Cittadini has) issues a
// further sub-CA, which issues a card: each signature verifies, but the
// path length constraint is exceeded, and the card is refused.
func TestAttackPathLenExceeded(t *testing.T) {
	e := newAttackEnv(t, nil)
	sub, err := e.CA.NewSubCA(cnstest.CIESubCA1CN) // pathLen 0
	if err != nil {
		t.Fatal(err)
	}
	below, err := sub.NewSubCA("Rogue sub-sub-CA")
	if err != nil {
		t.Fatal(err)
	}
	card := below.MustIssueCard(cnstest.CardOptions{})
	if len(card.Chain) != 2 {
		t.Fatalf("the card's chain has %d certificates, want the two sub-CAs", len(card.Chain))
	}
	e.refused(t, card, nil, x509cns.ReasonUnknownIssuer, "non è quello di una tessera accettata", "path length constraint of")
}

// TestAttackFoldedFiscalCode: issue 13 item 6 over the network. A CN whose
// fiscal code only Unicode case folding makes valid ('ſ' for 'S'), a
// non-ASCII card id and a subject with two CNs are refused as bad_subject.
func TestAttackFoldedFiscalCode(t *testing.T) {
	twoCNs := &pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: x509cns.OIDCountry, Value: "IT"},
		{Type: x509cns.OIDCommonName, Value: cnstest.CNSCommonName("RSSMRA85T10A562S", "6038000000000000", "abc=")},
		{Type: x509cns.OIDCommonName, Value: cnstest.CNSCommonName("VRDLGU80A01H501Q", "6038000000000000", "abc=")},
	}}
	cases := []struct {
		name, detail string
		opts         cnstest.CardOptions
	}{
		{"long-s-fiscal-code", "offset 15 of the fiscal code", cnstest.CardOptions{CommonName: "RSSMRA85T10A562\u017f/6038000000000000.abc="}},
		{"fullwidth-card-id", "of the card id", cnstest.CardOptions{CommonName: "RSSMRA85T10A562S/603800000000000\uff10.abc="}},
		{"two-common-names", "subject has 2 common names", cnstest.CardOptions{Subject: twoCNs}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newAttackEnv(t, nil)
			sub, err := e.CA.NewSubCA(cnstest.CIESubCA1CN)
			if err != nil {
				t.Fatal(err)
			}
			// The victim's card is registered: the attack would log in as them.
			e.PreRegister(sub.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S"}))
			card := sub.MustIssueCard(tc.opts)
			e.refused(t, card, nil, x509cns.ReasonBadSubject, "non sono leggibili in modo univoco", tc.detail)
		})
	}
}

// TestAttackLongChainThroughProxyHeader: item 1's limit holds for chains
// from a trusted proxy's header too (item 12c): five intermediates in
// Client-Cert-Chain are refused before any certificate is parsed.
func TestAttackLongChainThroughProxyHeader(t *testing.T) {
	proxies, err := idp.NewTrustedProxies([]string{"127.0.0.1/32", "::1/128"}, idp.ProxyRFC9440)
	if err != nil {
		t.Fatal(err)
	}
	e := newAttackEnv(t, proxies)
	sub, err := e.CA.NewSubCA(cnstest.CIESubCA1CN)
	if err != nil {
		t.Fatal(err)
	}
	card := sub.MustIssueCard(cnstest.CardOptions{})
	sf := func(c *x509.Certificate) string { return ":" + base64.StdEncoding.EncodeToString(c.Raw) + ":" }
	members := []string{sf(sub.Cert), sf(sub.Cert), sf(e.CA.Cert), sf(sub.Cert), sf(sub.Cert)}
	h := http.Header{}
	h.Set(idp.ClientCertHeader, sf(card.Cert))
	h.Set(idp.ClientCertChainHeader, strings.Join(members, ", "))
	e.refused(t, nil, h, x509cns.ReasonChainTooLong, "catena di certificati troppo lunga", "6 certificates with the leaf, over the limit of 5")

	// Four are within the limit: the CIE card behind the proxy is judged
	// and offered registration.
	h.Set(idp.ClientCertChainHeader, strings.Join(members[:4], ", "))
	req, _ := http.NewRequest("GET", e.CNS.URL+"/cns/login", nil)
	req.Header = h
	resp, err := e.Browser(nil).Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readPage(t, resp).must(t, 200, "Registra TS-CNS")
}

// dnsSAN is a subjectAltName extension with one DNS name.
func dnsSAN(t *testing.T, name string) pkix.Extension {
	t.Helper()
	// SEQUENCE { [2] IMPLICIT IA5String name }
	v := append([]byte{0x30, byte(2 + len(name)), 0x82, byte(len(name))}, name...)
	return pkix.Extension{Id: []int{2, 5, 29, 17}, Value: v}
}
