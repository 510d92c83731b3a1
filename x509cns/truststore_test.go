package x509cns

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"sync"
	"testing"
)

func TestTrustStoreClassifyAnchor(t *testing.T) {
	nb, na := t2018.AddDate(-1, 0, 0), t2018.AddDate(1, 0, 0)
	rsa512 := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 511), E: 65537}
	rsa1024 := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 1023), E: 65537}
	self := []byte("self")
	tests := []struct {
		name string
		cert x509.Certificate
		want CertStatus
	}{
		{"ok/ca-rsa1024", x509.Certificate{BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign, PublicKey: rsa1024, NotBefore: nb, NotAfter: na}, StatusUsable},
		{"ok/ca-without-keyusage", x509.Certificate{BasicConstraintsValid: true, IsCA: true, PublicKey: newECKey(t).Public(), NotBefore: nb, NotAfter: na}, StatusUsable},
		{"ok/v1-self-issued-root", x509.Certificate{Version: 1, RawSubject: self, RawIssuer: self, PublicKey: rsa1024, NotBefore: nb, NotAfter: na}, StatusUsable},
		{"stored/expired", x509.Certificate{BasicConstraintsValid: true, IsCA: true, PublicKey: rsa1024, NotBefore: nb.AddDate(-5, 0, 0), NotAfter: nb}, StatusExpired},
		{"stored/not-yet-valid", x509.Certificate{BasicConstraintsValid: true, IsCA: true, PublicKey: rsa1024, NotBefore: na, NotAfter: na.AddDate(5, 0, 0)}, StatusNotYetValid},
		{"skip/ca-false", x509.Certificate{BasicConstraintsValid: true, PublicKey: rsa1024, NotBefore: nb, NotAfter: na}, StatusNotCA},
		{"skip/v3-without-basic-constraints", x509.Certificate{Version: 3, RawSubject: self, RawIssuer: self, PublicKey: rsa1024, NotBefore: nb, NotAfter: na}, StatusNotCA},
		{"skip/v1-not-self-issued", x509.Certificate{Version: 1, RawSubject: self, RawIssuer: []byte("other"), PublicKey: rsa1024, NotBefore: nb, NotAfter: na}, StatusNotCA},
		{"skip/keyusage-without-certsign", x509.Certificate{BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature, PublicKey: rsa1024, NotBefore: nb, NotAfter: na}, StatusNoCertSign},
		{"skip/rsa512", x509.Certificate{BasicConstraintsValid: true, IsCA: true, PublicKey: rsa512, NotBefore: nb, NotAfter: na}, StatusUnsupportedKey},
		{"skip/ed25519", x509.Certificate{BasicConstraintsValid: true, IsCA: true, PublicKey: ed25519.PublicKey(make([]byte, 32)), PublicKeyAlgorithm: x509.Ed25519, NotBefore: nb, NotAfter: na}, StatusUnsupportedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, detail := classifyAnchor(&tt.cert, t2018)
			if got != tt.want {
				t.Errorf("status = %s (%s), want %s", got, detail, tt.want)
			}
			if got != StatusUsable && detail == "" {
				t.Errorf("status %s without a reason", got)
			}
		})
	}
}

func TestTrustStoreLooksLikeCNSCA(t *testing.T) {
	tests := []struct {
		name     string
		subject  pkix.Name
		policies []asn1.ObjectIdentifier
		want     bool
	}{
		{"cns/ca-cittadini", pkix.Name{CommonName: "Regione Veneto - CA Cittadini"}, nil, true},
		{"cns/word-cns", pkix.Name{CommonName: "I.T. Telecom CNS"}, nil, true},
		{"cns/autenticazione-in-ou", pkix.Name{CommonName: "X CA 2", OrganizationalUnit: []string{"CA Regione di Autenticazione"}}, nil, true},
		{"cie/ministero-typographic-apostrophe", pkix.Name{CommonName: "Root", Organization: []string{"Ministero dell’Interno"}}, nil, true},
		{"cie/policy-arc", pkix.Name{CommonName: "Root"}, []asn1.ObjectIdentifier{{1, 3, 76, 47, 1}}, true},
		{"cns/policy-on-ca", pkix.Name{CommonName: "Anything"}, []asn1.ObjectIdentifier{OIDPolicyCNS}, true},
		{"crs/lombardia-policy", pkix.Name{CommonName: "Anything"}, []asn1.ObjectIdentifier{OIDPolicyCRSLombardia}, true},
		{"other/cnsd-is-not-cns", pkix.Name{CommonName: "Firma", OrganizationalUnit: []string{"Servizi Demografici - CNSD"}}, nil, false},
		{"other/cnipa", pkix.Name{CommonName: "CNIPA CA1"}, []asn1.ObjectIdentifier{{1, 3, 76, 16, 1, 2, 1, 1}}, false},
		{"other/tsa", pkix.Name{CommonName: "Namirial CA TSA"}, []asn1.ObjectIdentifier{{2, 5, 29, 32, 0}}, false},
		{"other/firma-qualificata", pkix.Name{CommonName: "InfoCert Firma Qualificata 2"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &x509.Certificate{Subject: tt.subject, PolicyIdentifiers: tt.policies}
			got, hint := looksLikeCNSCA(c)
			if got != tt.want {
				t.Errorf("looksLikeCNSCA = %v (%q), want %v", got, hint, tt.want)
			}
			if got && hint == "" {
				t.Error("no hint")
			}
		})
	}
}

func TestTrustStoreIssuersRekeyed(t *testing.T) {
	s := NewTrustStore()
	s.Now = fixedNow(t2018)
	v1, _ := mint(t, caTemplate("Regione Test - CA Cittadini", t2018.AddDate(-10, 0, 0), t2018.AddDate(-1, 0, 0)), nil, nil)
	v2, _ := mint(t, caTemplate("Regione Test - CA Cittadini", t2018.AddDate(-4, 0, 0), t2018.AddDate(6, 0, 0)), nil, nil)
	v3, _ := mint(t, caTemplate("Regione Test - CA Cittadini", t2018.AddDate(-1, 0, 0), t2018.AddDate(9, 0, 0)), nil, nil)
	other, _ := mint(t, caTemplate("Altra CA", t2018.AddDate(-1, 0, 0), t2018.AddDate(9, 0, 0)), nil, nil)
	for _, c := range []*x509.Certificate{v2, other, v1, v3} { // not in date order
		if r := s.Add(c, "test"); !r.Status.Stored() {
			t.Fatalf("Add(%s) = %+v", c.Subject.CommonName, r)
		}
	}
	noAKI := leafNamedUnder(t, v2, false)
	unknownAKI := leafNamedUnder(t, v2, true)
	unknownAKI.AuthorityKeyId = []byte("no such key")
	stranger := leafNamedUnder(t, other, false)
	stranger.RawIssuer = []byte("unknown issuer")

	tests := []struct {
		name string
		leaf *x509.Certificate
		want []*x509.Certificate
	}{
		{"aki/old-version", leafNamedUnder(t, v1, true), []*x509.Certificate{v1}},
		{"aki/middle-version", leafNamedUnder(t, v2, true), []*x509.Certificate{v2}},
		{"aki/new-version", leafNamedUnder(t, v3, true), []*x509.Certificate{v3}},
		{"subject/no-aki-newest-first", noAKI, []*x509.Certificate{v3, v2, v1}},
		{"subject/unknown-aki-falls-back", unknownAKI, []*x509.Certificate{v3, v2, v1}},
		{"none/unknown-issuer", stranger, nil},
		{"none/nil", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.Issuers(tt.leaf)
			if len(got) != len(tt.want) {
				t.Fatalf("Issuers = %d certificates, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("Issuers[%d] NotBefore %s, want %s", i, got[i].NotBefore, tt.want[i].NotBefore)
				}
			}
		})
	}

	if s.Len() != 4 || len(s.Anchors()) != 4 {
		t.Errorf("Len = %d, Anchors = %d, want 4", s.Len(), len(s.Anchors()))
	}
	if !s.Contains(v1) || s.Contains(noAKI) || s.Contains(nil) {
		t.Error("Contains: want v1 only")
	}
	// Subjects: usable anchors only (v1 expired), each name once.
	subjects := s.Subjects()
	if len(subjects) != 2 || !bytes.Equal(subjects[0], v2.RawSubject) || !bytes.Equal(subjects[1], other.RawSubject) {
		t.Errorf("Subjects = %q, want [v2/v3 name, other]", subjects)
	}
	if e, ok := s.Entry(v1); !ok || e.Status != StatusExpired || !e.LooksCNS {
		t.Errorf("Entry(v1) = %+v, %v; want expired, looks CNS", e, ok)
	}
}

func TestTrustStoreAddDuplicateAndNil(t *testing.T) {
	s := NewTrustStore()
	s.Now = fixedNow(t2018)
	ca, _ := mint(t, caTemplate("CA", t2018.AddDate(-1, 0, 0), t2018.AddDate(1, 0, 0)), nil, nil)
	if r := s.Add(ca, "first"); r.Status != StatusUsable {
		t.Fatalf("first Add = %+v", r)
	}
	copyOf, err := x509.ParseCertificate(bytes.Clone(ca.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Add(copyOf, "second"); r.Status != StatusDuplicate || r.Source != "second" {
		t.Errorf("second Add = %+v, want duplicate", r)
	}
	if r := s.Add(nil, "nil"); r.Status != StatusMalformed {
		t.Errorf("Add(nil) = %+v, want malformed", r)
	}
	if s.Len() != 1 {
		t.Errorf("Len = %d, want 1", s.Len())
	}
}

func TestTrustStoreRepairBERBoolean(t *testing.T) {
	ca, _ := mint(t, caTemplate("CA BER", t2018.AddDate(-1, 0, 0), t2018.AddDate(1, 0, 0)), nil, nil)
	// Re-encode cA TRUE as BER 0x01, the way the 2001 Enel.it roots do.
	der := bytes.Clone(ca.Raw)
	i := bytes.Index(der, oidBasicConstraintsTLV)
	at := bytes.Index(der[i:], []byte{0x30, 0x06, 0x01, 0x01, 0xff})
	if i < 0 || at < 0 {
		t.Fatal("basicConstraints not found in minted CA")
	}
	der[i+at+4] = 0x01
	if _, err := x509.ParseCertificate(der); err == nil {
		t.Fatal("Go now accepts a BER BOOLEAN: the repair may be obsolete")
	}
	got, note, err := parseAnchorDER(der)
	if err != nil || note == "" || !got.IsCA || !bytes.Equal(got.RawSubjectPublicKeyInfo, ca.RawSubjectPublicKeyInfo) {
		t.Fatalf("parseAnchorDER = %v, %q, %v", got != nil, note, err)
	}
	if _, _, err := parseAnchorDER([]byte("garbage")); err == nil {
		t.Error("garbage parsed")
	}
	if c, note, err := parseAnchorDER(ca.Raw); err != nil || note != "" || !c.Equal(ca) {
		t.Errorf("clean DER: note %q, err %v", note, err)
	}
}

// Run with -race: lookups may run while a loader adds.
func TestTrustStoreConcurrentUse(t *testing.T) {
	s := NewTrustStore()
	s.Now = fixedNow(t2018)
	var cas []*x509.Certificate
	for range 8 {
		ca, _ := mint(t, caTemplate("Regione Test - CA Cittadini", t2018.AddDate(-1, 0, 0), t2018.AddDate(1, 0, 0)), nil, nil)
		cas = append(cas, ca)
	}
	leaf := leafNamedUnder(t, cas[0], false)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				s.Issuers(leaf)
				s.Contains(cas[0])
				s.Subjects()
				s.Anchors()
			}
		})
	}
	for _, ca := range cas {
		s.Add(ca, "concurrent")
	}
	wg.Wait()
	if got := len(s.Issuers(leaf)); got != len(cas) {
		t.Errorf("Issuers = %d, want %d", got, len(cas))
	}
}

// FuzzParseAnchorDER: the lenient parser never panics, and a repair never
// turns into a certificate what Go could not read either way.
func FuzzParseAnchorDER(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x06, 0x03, 0x55, 0x1d, 0x13})
	f.Add([]byte{0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0x01, 0x04, 0x08, 0x30, 0x06, 0x01, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, der []byte) {
		c, note, err := parseAnchorDER(der)
		if err == nil && c == nil {
			t.Fatal("nil certificate without error")
		}
		if err != nil && note != "" {
			t.Fatal("note with error")
		}
	})
}

func TestTrustStoreZeroValue(t *testing.T) {
	var s TrustStore
	ca, _ := mint(t, caTemplate("CA", t2018.AddDate(-1, 0, 0), t2018.AddDate(50, 0, 0)), nil, nil)
	if s.Len() != 0 || len(s.Issuers(ca)) != 0 || s.Contains(ca) {
		t.Fatal("zero store is not empty")
	}
	if r := s.Add(ca, "zero"); r.Status != StatusUsable || !s.Contains(ca) {
		t.Errorf("Add on the zero value = %+v", r)
	}
}
