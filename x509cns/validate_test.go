package x509cns_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// testPKI is a set of CAs and a trust store shared by the validator tests.
type testPKI struct {
	now      time.Time
	toscana  *cnstest.CA // trusted regional root
	toscana2 *cnstest.CA // re-keyed Toscana (same subject, new key), trusted
	trento   *cnstest.CA // trusted "Provincia Autonoma di Trento" root
	cieRoot  *cnstest.CA // trusted CIE root
	cieSub   *cnstest.CA // its SUBCA1, not in the store: presented by the client
	stranger *cnstest.CA // not trusted
	sha1CA   *cnstest.CA // trusted, signs with SHA-1 (old cards)
	store    *x509cns.TrustStore
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := cnstest.WithNow(func() time.Time { return now })
	must := func(ca *cnstest.CA, err error) *cnstest.CA {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	p := &testPKI{now: now}
	p.toscana = must(cnstest.NewRegionalCA("Toscana", clock))
	p.toscana2 = must(p.toscana.Rekey())
	p.trento = must(cnstest.NewRegionalCA("Trento", clock, cnstest.WithAdministration("Provincia Autonoma di Trento")))
	p.cieRoot = must(cnstest.NewCIERoot(clock))
	p.cieSub = must(p.cieRoot.NewSubCA(cnstest.CIESubCA1CN))
	p.stranger = must(cnstest.NewRegionalCA("Toscana", clock)) // same name, untrusted key
	p.sha1CA = must(cnstest.NewRegionalCA("Umbria", clock, cnstest.WithSHA1()))
	p.store = x509cns.NewTrustStore()
	for _, ca := range []*cnstest.CA{p.toscana, p.toscana2, p.trento, p.cieRoot, p.sha1CA} {
		p.store.Add(ca.Cert, "test")
	}
	return p
}

func TestValidate(t *testing.T) {
	p := newTestPKI(t)
	strict := x509cns.DefaultPolicy()
	lenient := strict
	lenient.AllowSHA1, lenient.MinRSABits = true, 1024
	noEKU := strict
	noEKU.RequireClientAuthEKU = false
	smallBudget := strict
	smallBudget.MaxSignatureChecks = 4
	noCap := strict // only the signature-check budget bounds the search
	noCap.MaxIntermediates = 14

	type check func(t *testing.T, id *x509cns.Identity)
	tests := []struct {
		name   string
		ca     *cnstest.CA
		opts   cnstest.CardOptions
		policy *x509cns.Policy
		chain  func(c *cnstest.Card) []*x509.Certificate // what the client presents
		at     time.Time
		want   x509cns.Reason
		check  check
	}{
		{name: "ok/regional-card", ca: p.toscana, opts: cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S", GivenName: "MARIO", FamilyName: "ROSSI"},
			check: func(t *testing.T, id *x509cns.Identity) {
				if id.FiscalCode != "RSSMRA85T10A562S" || id.Region != "Toscana" || id.CardType != x509cns.CardTypeRegional ||
					id.GivenName != "MARIO" || id.FamilyName != "ROSSI" || !strings.ContainsAny(id.CardHash, "/+") {
					t.Fatalf("identity = %+v", id)
				}
			}},
		{name: "ok/rekeyed-ca", ca: p.toscana2, check: func(t *testing.T, id *x509cns.Identity) {
			if id.Issuer != "Regione Toscana - CA Cittadini" {
				t.Fatalf("issuer = %q", id.Issuer)
			}
		}},
		{name: "ok/trento-region-from-ou", ca: p.trento, check: func(t *testing.T, id *x509cns.Identity) {
			if id.Region != "Provincia Autonoma di Trento" {
				t.Fatalf("region = %q", id.Region)
			}
		}},
		{name: "ok/operator-card", ca: p.toscana, opts: cnstest.CardOptions{CardType: '8'}, check: func(t *testing.T, id *x509cns.Identity) {
			if id.CardType != x509cns.CardTypeOperator {
				t.Fatalf("card type = %q", id.CardType)
			}
		}},
		{name: "ok/cie-chain-with-subca", ca: p.cieSub, check: func(t *testing.T, id *x509cns.Identity) {
			if id.Policies[0] != "1.3.76.47.4" {
				t.Fatalf("policies = %v", id.Policies)
			}
		}},
		{name: "ok/serialnumber-tinit", ca: p.toscana, opts: cnstest.CardOptions{SerialNumberPrefix: "TINIT-", FiscalCode: "RSSMRA85T10A562S"},
			check: func(t *testing.T, id *x509cns.Identity) {
				if id.FiscalCode != "RSSMRA85T10A562S" || id.CardID != "" || id.CardType != x509cns.CardTypeUnknown {
					t.Fatalf("identity = %+v", id)
				}
			}},
		{name: "ok/serialnumber-it", ca: p.toscana, opts: cnstest.CardOptions{SerialNumberPrefix: "IT:"}},
		{name: "ok/rsa-1024-when-allowed", ca: p.toscana, opts: cnstest.CardOptions{KeyBits: 1024}, policy: &lenient},
		{name: "ok/sha1-when-allowed", ca: p.sha1CA, policy: &lenient},
		{name: "ok/no-eku-when-not-required", ca: p.toscana, opts: cnstest.CardOptions{NoEKU: true}, policy: &noEKU},
		{name: "ok/omocodia", ca: p.toscana, opts: cnstest.CardOptions{FiscalCode: cnstest.FiscalCode(6)}, check: func(t *testing.T, id *x509cns.Identity) {
			if id.FiscalCode != cnstest.FiscalCode(6) || !strings.ContainsAny(id.FiscalCode[6:15], "LMNPQRSTUV") {
				t.Fatalf("fiscal code = %q", id.FiscalCode)
			}
		}},

		{name: "fail/no_certificate", ca: p.toscana, chain: func(*cnstest.Card) []*x509.Certificate { return nil }, want: x509cns.ReasonNoCertificate},
		{name: "fail/unknown_issuer", ca: p.stranger, want: x509cns.ReasonUnknownIssuer},
		{name: "fail/unknown_issuer-subca-not-presented", ca: p.cieSub, chain: leafOnly, want: x509cns.ReasonUnknownIssuer},
		{name: "fail/expired", ca: p.toscana, opts: cnstest.CardOptions{NotBefore: p.now.AddDate(-7, 0, 0), NotAfter: p.now.AddDate(-1, 0, 0)}, want: x509cns.ReasonExpired},
		{name: "fail/expired-at-validation-time", ca: p.toscana, at: p.now.AddDate(7, 0, 0), want: x509cns.ReasonExpired},
		{name: "fail/not_yet_valid", ca: p.toscana, opts: cnstest.CardOptions{NotBefore: p.now.AddDate(0, 1, 0), NotAfter: p.now.AddDate(6, 0, 0)}, want: x509cns.ReasonNotYetValid},
		{name: "fail/bad_policy-other", ca: p.toscana, opts: cnstest.CardOptions{Policies: []cnstest.Policy{{OID: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}}}}, want: x509cns.ReasonBadPolicy},
		{name: "fail/bad_policy-none", ca: p.toscana, opts: cnstest.CardOptions{NoPolicies: true}, want: x509cns.ReasonBadPolicy},
		{name: "fail/bad_key_usage", ca: p.toscana, opts: cnstest.CardOptions{KeyUsage: x509.KeyUsageKeyEncipherment}, want: x509cns.ReasonBadKeyUsage},
		{name: "fail/bad_key_usage-absent", ca: p.toscana, opts: cnstest.CardOptions{NoKeyUsage: true}, want: x509cns.ReasonBadKeyUsage},
		{name: "fail/bad_ext_key_usage-none", ca: p.toscana, opts: cnstest.CardOptions{NoEKU: true}, want: x509cns.ReasonBadExtKeyUsage},
		{name: "fail/bad_ext_key_usage-server", ca: p.toscana, opts: cnstest.CardOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, want: x509cns.ReasonBadExtKeyUsage},
		{name: "fail/weak_key", ca: p.toscana, opts: cnstest.CardOptions{KeyBits: 1024}, want: x509cns.ReasonWeakKey},
		{name: "fail/weak_signature", ca: p.toscana, opts: cnstest.CardOptions{SHA1: true}, want: x509cns.ReasonWeakSignature},
		{name: "fail/no_fiscal_code", ca: p.toscana, opts: cnstest.CardOptions{Subject: &pkix.Name{Country: []string{"IT"}, CommonName: "MARIO ROSSI"}}, want: x509cns.ReasonNoFiscalCode},
		{name: "fail/bad_fiscal_code-check-char", ca: p.toscana, opts: cnstest.CardOptions{BadCheckChar: true}, want: x509cns.ReasonBadFiscalCode},
		{name: "fail/bad_fiscal_code-in-serialnumber", ca: p.toscana, opts: cnstest.CardOptions{SerialNumberPrefix: "TINIT-", BadCheckChar: true}, want: x509cns.ReasonBadFiscalCode},
		{name: "fail/bad_fiscal_code-garbage-before-slash", ca: p.toscana, opts: cnstest.CardOptions{CommonName: "NOT A CF/6038000000000009.abc"}, want: x509cns.ReasonBadFiscalCode},
		{name: "fail/bad_card_id", ca: p.toscana, opts: cnstest.CardOptions{CardID: "6038000000000001"}, want: x509cns.ReasonBadCardID},

		// Item 6 of issue 13: no Unicode folding onto a fiscal code, one CN only.
		{name: "fail/bad_subject-long-s-in-cf", ca: p.toscana, opts: cnstest.CardOptions{CommonName: "RSSMRA85T10A562\u017f/6038000000000000.abc="}, want: x509cns.ReasonBadSubject},
		{name: "fail/bad_subject-dotless-i-in-cf", ca: p.toscana, opts: cnstest.CardOptions{CommonName: "RSSMRA85T10A562S/603800000000000\u0131.abc="}, want: x509cns.ReasonBadSubject},
		{name: "fail/bad_subject-fullwidth-digit-in-card-id", ca: p.toscana, opts: cnstest.CardOptions{CommonName: "RSSMRA85T10A562S/603800000000000\uff10.abc="}, want: x509cns.ReasonBadSubject},
		{name: "fail/bad_subject-nbsp-before-cf", ca: p.toscana, opts: cnstest.CardOptions{CommonName: "\u00a0RSSMRA85T10A562S/6038000000000000.abc="}, want: x509cns.ReasonBadSubject},
		{name: "fail/bad_subject-bare-cf-long-s", ca: p.toscana, opts: cnstest.CardOptions{CommonName: "RSSMRA85T10A562\u017f"}, want: x509cns.ReasonBadSubject},
		{name: "fail/bad_subject-serialnumber-long-s", ca: p.toscana, opts: cnstest.CardOptions{Subject: &pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: x509cns.OIDCommonName, Value: "MARIO ROSSI"}, {Type: x509cns.OIDSerialNumber, Value: "TINIT-RSSMRA85T10A562\u017f"}}}}, want: x509cns.ReasonBadSubject},
		{name: "fail/bad_subject-two-cns", ca: p.toscana, opts: cnstest.CardOptions{Subject: &pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: x509cns.OIDCountry, Value: "IT"},
			{Type: x509cns.OIDCommonName, Value: cnstest.CNSCommonName("RSSMRA85T10A562S", "6038000000000000", "abc=")},
			{Type: x509cns.OIDCommonName, Value: cnstest.CNSCommonName("VRDLGU80A01H501Q", "6038000000000000", "abc=")}}}}, want: x509cns.ReasonBadSubject},
		{name: "ok/accented-name-in-bare-cn-with-serialnumber", ca: p.toscana, opts: cnstest.CardOptions{Subject: &pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: x509cns.OIDCommonName, Value: "NICOLÒ ROSSI"}, {Type: x509cns.OIDSerialNumber, Value: "TINIT-RSSMRA85T10A562S"}}}},
			check: func(t *testing.T, id *x509cns.Identity) {
				if id.FiscalCode != "RSSMRA85T10A562S" {
					t.Fatalf("fiscal code = %q", id.FiscalCode)
				}
			}},

		// Item 5: a CA certificate is no card.
		{name: "fail/not_end_entity", ca: p.toscana, opts: cnstest.CardOptions{IsCA: true}, want: x509cns.ReasonNotEndEntity},

		// Item 1: bounded chain building.
		{name: "fail/chain_too_long-presented", ca: p.toscana, chain: selfIssued(t, p.toscana, 5), want: x509cns.ReasonChainTooLong},
		{name: "fail/chain_too_long-review-attack-14", ca: p.toscana, chain: selfIssued(t, p.toscana, 14), want: x509cns.ReasonChainTooLong},
		{name: "fail/chain_too_long-budget", ca: p.toscana, chain: selfIssued(t, p.cieRoot, 4), policy: &smallBudget, want: x509cns.ReasonChainTooLong},
		// Top-down, 14 intermediates no anchor signed cost 14 verifications.
		{name: "fail/unknown_issuer-self-issued-14-within-budget-when-cap-raised", ca: p.toscana, chain: selfIssued(t, p.cieRoot, 14), policy: &noCap, want: x509cns.ReasonUnknownIssuer},
		{name: "fail/unknown_issuer-self-issued-within-budget", ca: p.toscana, chain: selfIssued(t, p.cieRoot, 4), want: x509cns.ReasonUnknownIssuer},
		// Named like a CA re-keyed once (two anchors): 14 × 2 verifications
		// would be needed to learn that no anchor reaches them.
		{name: "fail/chain_too_long-budget-when-cap-raised", ca: p.toscana, chain: selfIssued(t, p.toscana, 14), policy: &noCap, want: x509cns.ReasonChainTooLong},
		{name: "ok/cie-with-root-presented-too", ca: p.cieSub, chain: func(c *cnstest.Card) []*x509.Certificate {
			return []*x509.Certificate{c.Cert, p.cieRoot.Cert, c.Chain[0], c.Chain[0]}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card, err := tt.ca.IssueCard(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			policy := strict
			if tt.policy != nil {
				policy = *tt.policy
			}
			v := &x509cns.Validator{Anchors: p.store, Policy: policy}
			chain := append([]*x509.Certificate{card.Cert}, card.Chain...)
			if tt.chain != nil {
				chain = tt.chain(card)
			}
			at := p.now
			if !tt.at.IsZero() {
				at = tt.at
			}
			res, err := v.Validate(chain, at)
			if got := x509cns.ReasonOf(err); got != tt.want {
				t.Fatalf("reason = %q (%v), want %q", got, err, tt.want)
			}
			if err != nil {
				var rej *x509cns.Rejection
				if !errors.As(err, &rej) || !rej.Reason.Valid() {
					t.Fatalf("error %v is not a Rejection with a known reason", err)
				}
				return
			}
			if res.Identity.Fingerprint != x509cns.Fingerprint(card.Cert) || res.Leaf() != card.Cert {
				t.Fatal("result does not describe the presented card")
			}
			if tt.check != nil {
				tt.check(t, res.Identity)
			}
		})
	}
}

func leafOnly(c *cnstest.Card) []*x509.Certificate { return []*x509.Certificate{c.Cert} }

// selfIssued presents, instead of the card, the hostile chain of n
// self-issued intermediates named like ca.
func selfIssued(t *testing.T, ca *cnstest.CA, n int) func(*cnstest.Card) []*x509.Certificate {
	t.Helper()
	card, err := ca.SelfIssuedChain(n, cnstest.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return func(*cnstest.Card) []*x509.Certificate { return append([]*x509.Certificate{card.Cert}, card.Chain...) }
}

// TestValidateRekeyedPicksByAKI checks that a card of each version of a
// re-keyed CA chains to that version, not to the other one with the same name.
func TestValidateRekeyedPicksByAKI(t *testing.T) {
	p := newTestPKI(t)
	v := &x509cns.Validator{Anchors: p.store, Policy: x509cns.DefaultPolicy()}
	for _, ca := range []*cnstest.CA{p.toscana, p.toscana2} {
		card := ca.MustIssueCard(cnstest.CardOptions{})
		res, err := v.Validate([]*x509.Certificate{card.Cert}, p.now)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Issuer().Equal(ca.Cert) {
			t.Fatalf("chained to the wrong version of %s", ca.Cert.Subject.CommonName)
		}
	}
}

// TestValidateSubCAOfPathLenZeroRoot refuses a chain through an intermediate
// under a regional root whose pathLen is 0.
func TestValidateSubCAOfPathLenZeroRoot(t *testing.T) {
	p := newTestPKI(t)
	sub, err := p.toscana.NewSubCA("Rogue sub-CA")
	if err != nil {
		t.Fatal(err)
	}
	card := sub.MustIssueCard(cnstest.CardOptions{})
	v := &x509cns.Validator{Anchors: p.store, Policy: x509cns.DefaultPolicy()}
	_, err = v.Validate(append([]*x509.Certificate{card.Cert}, card.Chain...), p.now)
	if x509cns.ReasonOf(err) != x509cns.ReasonUnknownIssuer {
		t.Fatalf("got %v, want unknown_issuer", err)
	}
}

func TestParseCertificatesMalformed(t *testing.T) {
	for name, in := range map[string]string{
		"garbage-der": "\x30\x03\x02\x01",
		"bad-pem":     "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"no-cert-pem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := x509cns.ParseCertificates([]byte(in))
			if x509cns.ReasonOf(err) != x509cns.ReasonMalformed {
				t.Fatalf("got %v, want malformed_certificate", err)
			}
		})
	}
	if _, err := x509cns.ParseCertificates(nil); x509cns.ReasonOf(err) != x509cns.ReasonNoCertificate {
		t.Fatalf("empty input: %v", err)
	}
}

// TestEveryReasonHasACase keeps the table honest: each Reason this package
// decides appears in a "fail/" case above (the others are decided by the
// revocation checker, the registry and the front door, and tested there).
func TestEveryReasonHasACase(t *testing.T) {
	decidedElsewhere := map[x509cns.Reason]bool{
		x509cns.ReasonRevoked: true, x509cns.ReasonRevocationUnavailable: true, x509cns.ReasonNotRegistered: true,
		x509cns.ReasonRegistrationReplaced: true, x509cns.ReasonRegistrationRevoked: true, x509cns.ReasonNotEligible: true, x509cns.ReasonInternal: true,
		x509cns.ReasonMalformed:       true, // TestParseCertificatesMalformed
		x509cns.ReasonHandoffMismatch: true, // the login service's handoff (idp)
	}
	src := validateTestSource(t)
	for _, r := range x509cns.Reasons() {
		if decidedElsewhere[r] {
			continue
		}
		if !strings.Contains(src, `"fail/`+string(r)) {
			t.Errorf("no fail/%s case in TestValidate", r)
		}
	}
}

// TestParseCertificatesDERNotTrimmed: DER input is parsed as it is, even
// when its last signature byte happens to look like whitespace.
func TestParseCertificatesDERNotTrimmed(t *testing.T) {
	ca, err := cnstest.NewRegionalCA("Toscana")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for i := 0; i < 400 && found < 2; i++ {
		card := ca.MustIssueCard(cnstest.CardOptions{})
		last := card.Cert.Raw[len(card.Cert.Raw)-1]
		if !strings.ContainsRune(" \t\n\v\f\r", rune(last)) {
			continue
		}
		found++
		got, err := x509cns.ParseCertificates(card.Cert.Raw)
		if err != nil || !got[0].Equal(card.Cert) {
			t.Fatalf("DER ending in %#x: %v", last, err)
		}
	}
	if found == 0 {
		t.Skip("no certificate ending in a whitespace byte among 400")
	}
}
