package cnstest_test

import (
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

func TestIssueCardDefaultProfile(t *testing.T) {
	ca, _ := shared(t)
	card, err := ca.IssueCard(cnstest.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := card.Cert

	if got := attrTypes(t, c.RawSubject); !slices.Equal(got, []string{"C", "O", "OU", "CN"}) {
		t.Errorf("subject attributes = %v", got)
	}
	if got := attr(t, c.RawSubject, x509cns.OIDOrganization); !slices.Equal(got, []string{"TS-CNS"}) {
		t.Errorf("O = %q", got)
	}
	if got := attr(t, c.RawSubject, x509cns.OIDOrganizationalUnit); !slices.Equal(got, []string{"Regione Toscana"}) {
		t.Errorf("OU = %q", got)
	}
	cn := attr(t, c.RawSubject, x509cns.OIDCommonName)[0]
	slash, dot := strings.Index(cn, "/"), strings.LastIndex(cn, ".")
	if slash < 0 || dot < slash {
		t.Fatalf("CN %q is not CF/CARDID.HASH", cn)
	}
	cf, id, hash := cn[:slash], cn[slash+1:dot], cn[dot+1:]
	if cf != card.FiscalCode || id != card.CardID || hash != card.Hash {
		t.Errorf("CN %q does not match card fields %q %q %q", cn, card.FiscalCode, card.CardID, card.Hash)
	}
	if err := x509cns.ValidateFiscalCode(cf); err != nil {
		t.Errorf("fiscal code %q: %v", cf, err)
	}
	if err := x509cns.ValidateCardID(id); err != nil || id[0] != '6' {
		t.Errorf("card id %q: %v", id, err)
	}
	if len(hash) != 28 || !strings.Contains(hash, "/") || !strings.Contains(hash, "+") {
		t.Errorf("hash %q must be 28 base64 chars with '/' and '+'", hash)
	}
	if strings.Contains(c.Subject.String(), cn) {
		t.Error("RFC 2253 output should escape '+': the test of the DER reading is void")
	}

	ps := policiesOf(t, c)
	if len(ps) != 1 || !ps[0].OID.Equal(x509cns.OIDPolicyCNS) || ps[0].CPS == "" || ps[0].UserNotice != cnstest.CNSUserNotice {
		t.Errorf("policies = %+v", ps)
	}
	if len(c.Policies) != 1 || c.Policies[0].String() != "1.3.76.16.2.1" {
		t.Errorf("crypto/x509 reads policies %v", c.Policies)
	}
	ku, ok := extension(c, oidKeyUsage)
	if !ok || !ku.Critical || c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("KeyUsage %b critical=%v", c.KeyUsage, ku.Critical)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("EKU = %v", c.ExtKeyUsage)
	}
	if !slices.Equal(c.CRLDistributionPoints, ca.CRLDistributionPoints) || !slices.Equal(c.OCSPServer, ca.OCSPServer) {
		t.Errorf("CRL DP %v, OCSP %v", c.CRLDistributionPoints, c.OCSPServer)
	}
	if c.SerialNumber.BitLen() < 64 || c.IsCA {
		t.Errorf("serial %v, IsCA %v", c.SerialNumber, c.IsCA)
	}
	if c.SignatureAlgorithm != x509.SHA256WithRSA || card.Key.N.BitLen() != 2048 {
		t.Errorf("%v / %d bits", c.SignatureAlgorithm, card.Key.N.BitLen())
	}
	if d := c.NotAfter.Sub(c.NotBefore); d < 6*365*24*time.Hour || d > 6*366*24*time.Hour {
		t.Errorf("validity %v", d)
	}
	if len(card.Chain) != 0 || len(card.ChainPEM()) != 0 {
		t.Error("a regional card has no intermediates")
	}
	if err := verify(card, ca.CertPool()); err != nil {
		t.Errorf("chain: %v", err)
	}
	if tc := card.TLSCertificate(); len(tc.Certificate) != 1 || tc.Leaf != c || tc.PrivateKey != card.Key {
		t.Error("TLSCertificate")
	}
	if !strings.HasPrefix(string(card.CertPEM()), "-----BEGIN CERTIFICATE-----") || !strings.HasPrefix(string(card.KeyPEM()), "-----BEGIN PRIVATE KEY-----") {
		t.Error("PEM encodings")
	}
}

func TestCardOptions(t *testing.T) {
	ca, _ := shared(t)
	past := time.Now().AddDate(-7, 0, 0)
	rawSubject, _ := asn1.Marshal(pkix.RDNSequence{
		{{Type: x509cns.OIDCommonName, Value: "RSSMRA80A01H501U/6038000000000001.x"}, {Type: x509cns.OIDCommonName, Value: "second"}},
	})
	tests := []struct {
		name  string
		opts  cnstest.CardOptions
		check func(t *testing.T, card *cnstest.Card)
	}{
		{"fields/fixed-identity", cnstest.CardOptions{FiscalCode: "RSSMRA80A01H501U", CardID: "6038000000000018", Hash: "abc/def+ghi="}, func(t *testing.T, card *cnstest.Card) {
			if got := card.Cert.Subject.CommonName; got != "RSSMRA80A01H501U/6038000000000018.abc/def+ghi=" {
				t.Errorf("CN = %q", got)
			}
		}},
		{"fields/names", cnstest.CardOptions{GivenName: "MARIO", FamilyName: "ROSSI", DNQualifier: "20251231"}, func(t *testing.T, card *cnstest.Card) {
			if got := attrTypes(t, card.Cert.RawSubject); !slices.Equal(got, []string{"C", "O", "OU", "SN", "GN", "dnQualifier", "CN"}) {
				t.Errorf("attributes %v", got)
			}
			if card.Cert.Subject.Names[3].Value != "ROSSI" || card.Cert.Subject.Names[4].Value != "MARIO" {
				t.Errorf("names %v", card.Cert.Subject.Names)
			}
		}},
		{"fields/issuer-org", cnstest.CardOptions{Organization: "Regione Lombardia", OrganizationalUnit: "Provincia Autonoma di Trento"}, func(t *testing.T, card *cnstest.Card) {
			if card.Cert.Subject.Organization[0] != "Regione Lombardia" || card.Cert.Subject.OrganizationalUnit[0] != "Provincia Autonoma di Trento" {
				t.Errorf("subject %v", card.Cert.Subject)
			}
		}},
		{"fields/operator", cnstest.CardOptions{CardType: 8}, func(t *testing.T, card *cnstest.Card) {
			if card.CardID[0] != '8' || x509cns.ValidateCardID(card.CardID) != nil {
				t.Errorf("card id %q", card.CardID)
			}
		}},
		{"fail/bad-check-char", cnstest.CardOptions{BadCheckChar: true}, func(t *testing.T, card *cnstest.Card) {
			if err := x509cns.ValidateFiscalCode(card.FiscalCode); !errors.Is(err, x509cns.ErrFiscalCodeCheck) {
				t.Errorf("%q: %v", card.FiscalCode, err)
			}
			if !strings.HasPrefix(card.Cert.Subject.CommonName, card.FiscalCode+"/") {
				t.Error("CN must carry the bad code")
			}
		}},
		{"fields/serialnumber-IT", cnstest.CardOptions{SerialNumberPrefix: "IT:", FiscalCode: "RSSMRA80A01H501U"}, func(t *testing.T, card *cnstest.Card) {
			if got := card.Cert.Subject.SerialNumber; got != "IT:RSSMRA80A01H501U" {
				t.Errorf("serialNumber %q", got)
			}
			if cn := card.Cert.Subject.CommonName; cn != "MARIO ROSSI" || card.CardID != "" {
				t.Errorf("CN %q, card id %q", cn, card.CardID)
			}
		}},
		{"fields/serialnumber-TINIT", cnstest.CardOptions{SerialNumberPrefix: "TINIT-", GivenName: "ANNA", FamilyName: "BIANCHI"}, func(t *testing.T, card *cnstest.Card) {
			if got := card.Cert.Subject.SerialNumber; got != "TINIT-"+card.FiscalCode || card.Cert.Subject.CommonName != "ANNA BIANCHI" {
				t.Errorf("serialNumber %q CN %q", got, card.Cert.Subject.CommonName)
			}
		}},
		{"fields/common-name", cnstest.CardOptions{CommonName: "just a name"}, func(t *testing.T, card *cnstest.Card) {
			if card.Cert.Subject.CommonName != "just a name" || card.Cert.Subject.OrganizationalUnit[0] != "Regione Toscana" {
				t.Errorf("subject %v", card.Cert.Subject)
			}
		}},
		{"fields/raw-subject", cnstest.CardOptions{RawSubject: rawSubject}, func(t *testing.T, card *cnstest.Card) {
			if got := attr(t, card.Cert.RawSubject, x509cns.OIDCommonName); len(got) != 2 {
				t.Errorf("multi-valued RDN lost: %q", got)
			}
		}},
		{"fields/subject", cnstest.CardOptions{Subject: &pkix.Name{CommonName: "odd"}}, func(t *testing.T, card *cnstest.Card) {
			if card.Cert.Subject.String() != "CN=odd" {
				t.Errorf("subject %v", card.Cert.Subject)
			}
		}},
		{"fail/expired", cnstest.CardOptions{NotBefore: past, NotAfter: past.AddDate(6, 0, 0)}, func(t *testing.T, card *cnstest.Card) {
			var inv x509.CertificateInvalidError
			if err := verify(card, ca.CertPool()); !errors.As(err, &inv) || inv.Reason != x509.Expired {
				t.Errorf("verify: %v", err)
			}
		}},
		{"fail/not-yet-valid", cnstest.CardOptions{NotBefore: time.Now().Add(time.Hour)}, func(t *testing.T, card *cnstest.Card) {
			if !card.Cert.NotBefore.After(time.Now()) || card.Cert.NotAfter.Sub(card.Cert.NotBefore) < 6*365*24*time.Hour {
				t.Errorf("validity %v – %v", card.Cert.NotBefore, card.Cert.NotAfter)
			}
		}},
		{"fail/wrong-policy", cnstest.CardOptions{Policies: []cnstest.Policy{{OID: asn1.ObjectIdentifier{1, 2, 3, 4}}}}, func(t *testing.T, card *cnstest.Card) {
			if ps := policiesOf(t, card.Cert); len(ps) != 1 || ps[0].OID.String() != "1.2.3.4" || ps[0].CPS != "" {
				t.Errorf("policies %+v", ps)
			}
		}},
		{"fields/cie-policy", cnstest.CardOptions{Policies: []cnstest.Policy{cnstest.CIEPolicy()}}, func(t *testing.T, card *cnstest.Card) {
			if ps := policiesOf(t, card.Cert); len(ps) != 1 || !ps[0].OID.Equal(x509cns.OIDPolicyCIE) {
				t.Errorf("policies %+v", ps)
			}
		}},
		{"fail/no-policy", cnstest.CardOptions{NoPolicies: true}, func(t *testing.T, card *cnstest.Card) {
			if _, ok := extension(card.Cert, oidPolicies); ok {
				t.Error("policies present")
			}
		}},
		{"fail/no-eku", cnstest.CardOptions{NoEKU: true}, func(t *testing.T, card *cnstest.Card) {
			if len(card.Cert.ExtKeyUsage) != 0 {
				t.Errorf("EKU %v", card.Cert.ExtKeyUsage)
			}
		}},
		{"fail/server-auth-only", cnstest.CardOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, func(t *testing.T, card *cnstest.Card) {
			if err := verify(card, ca.CertPool()); err == nil {
				t.Error("a serverAuth-only card must not verify for clientAuth")
			}
		}},
		{"fields/non-repudiation", cnstest.CardOptions{KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment}, func(t *testing.T, card *cnstest.Card) {
			if card.Cert.KeyUsage&x509.KeyUsageContentCommitment == 0 {
				t.Error("nonRepudiation missing")
			}
		}},
		{"fail/no-digital-signature", cnstest.CardOptions{KeyUsage: x509.KeyUsageKeyEncipherment}, func(t *testing.T, card *cnstest.Card) {
			if card.Cert.KeyUsage != x509.KeyUsageKeyEncipherment {
				t.Errorf("KU %b", card.Cert.KeyUsage)
			}
		}},
		{"fail/no-key-usage", cnstest.CardOptions{NoKeyUsage: true}, func(t *testing.T, card *cnstest.Card) {
			if _, ok := extension(card.Cert, oidKeyUsage); ok {
				t.Error("KU present")
			}
		}},
		{"fail/rsa-1024", cnstest.CardOptions{KeyBits: 1024}, func(t *testing.T, card *cnstest.Card) {
			if n := card.Cert.PublicKey.(*rsa.PublicKey).N.BitLen(); n != 1024 {
				t.Errorf("%d bits", n)
			}
		}},
		{"fail/sha1", cnstest.CardOptions{SHA1: true}, func(t *testing.T, card *cnstest.Card) {
			if card.Cert.SignatureAlgorithm != x509.SHA1WithRSA {
				t.Errorf("%v", card.Cert.SignatureAlgorithm)
			}
			var insecure x509.InsecureAlgorithmError
			if err := card.Cert.CheckSignatureFrom(ca.Cert); !errors.As(err, &insecure) {
				t.Errorf("crypto/x509 should refuse SHA-1: %v", err)
			}
		}},
		{"fields/serial", cnstest.CardOptions{Serial: big.NewInt(4242)}, func(t *testing.T, card *cnstest.Card) {
			if card.Cert.SerialNumber.Int64() != 4242 || ca.Issued(big.NewInt(4242)) != card.Cert {
				t.Errorf("serial %v", card.Cert.SerialNumber)
			}
		}},
		{"fields/unique-key", cnstest.CardOptions{UniqueKey: true, KeyBits: 1024}, func(t *testing.T, card *cnstest.Card) {
			for i := range cnstest.SharedKeys {
				if k, _ := cnstest.SharedKey(1024, i); k.Equal(card.Key) {
					t.Error("unique key is a shared one")
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card, err := ca.IssueCard(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := card.Cert.CheckSignatureFrom(ca.Cert); err != nil && !tt.opts.SHA1 {
				t.Errorf("signature: %v", err)
			}
			tt.check(t, card)
		})
	}
}

func TestSixtyCards(t *testing.T) {
	ca, err := cnstest.NewRegionalCA("Veneto")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	seen := map[string]bool{}
	for range 60 {
		card, err := ca.IssueCard(cnstest.CardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if seen[card.FiscalCode] || seen[card.CardID] {
			t.Errorf("duplicate identity %s %s", card.FiscalCode, card.CardID)
		}
		seen[card.FiscalCode], seen[card.CardID] = true, true
	}
	t.Logf("60 cards in %v", time.Since(start))
}
