package x509cns

import (
	"bytes"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"
)

// tslFixture holds the real CA certificates of testdata/certs and the
// throwaway signers shared by the TSL tests.
type tslFixture struct {
	services              []testService
	signerA, signerB, old tslSigner
}

func newTSLFixture(t *testing.T) *tslFixture {
	cieRoot, cieSub := readTestDER(t, "cie-root.pem"), readTestDER(t, "cie-subca1.pem")
	campA, campB := readTestDER(t, "campania-cittadini-a.pem"), readTestDER(t, "campania-cittadini-b.pem")
	return &tslFixture{
		services: []testService{
			{tsp: "Ministero dell'Interno", name: "CIE", typ: ServiceTypeIdV, status: statusRecognised, certs: [][]byte{cieRoot, cieSub}},
			// current key plus the 2011 key in the history (and the current one repeated there)
			{tsp: "Postecom S.p.A.", name: "Regione Campania - CA Cittadini", typ: ServiceTypeIdV, status: statusGranted, certs: [][]byte{campB}, history: [][]byte{campA, campB}},
			{tsp: "Namirial S.p.A.", name: "Namirial CA TSA", typ: svcTypeQTST, status: statusGranted, certs: [][]byte{readTestDER(t, "namirial-tsa.pem")}},
			{tsp: "Enel.it S.p.A.", name: "Certificazione TSA", typ: ServiceTypeIdV, status: statusWithdrawn, certs: [][]byte{readTestDER(t, "enel-tsa-ber-boolean.pem")}},
			{tsp: "Senza S.p.A.", name: "IdV con solo SKI", typ: ServiceTypeIdV, status: statusGranted, skiOnly: true},
			{tsp: "Rotto S.p.A.", name: "IdV con base64 rotto", typ: ServiceTypeIdV, status: statusGranted, rawCert: "!!not base64!!"},
		},
		signerA: newTSLSigner(t, "TSL signer A", t2018.AddDate(-1, 0, 0), t2018.AddDate(3, 0, 0)),
		signerB: newTSLSigner(t, "TSL signer B", t2018.AddDate(-1, 0, 0), t2018.AddDate(3, 0, 0)),
		old:     newTSLSigner(t, "TSL signer expired", t2018.AddDate(-4, 0, 0), t2018.AddDate(-1, 0, 0)),
	}
}

type tslWant struct {
	services, kept, certs, loaded, usable, usableCNS, repaired int
	skipped                                                    string // reasons, comma separated, in order
	signed                                                     bool
}

func TestTSLLoad(t *testing.T) {
	f := newTSLFixture(t)
	plain := tslDoc{prefix: "tsl", id: "tsl-it", services: f.services}.build()
	signedA := signTSL(t, plain, f.signerA.key, f.signerA.cert)
	noID := tslDoc{prefix: "tsl", services: f.services}.build()
	defaultWant := tslWant{services: 6, kept: 3, certs: 5, loaded: 4, usable: 4, usableCNS: 4,
		skipped: "service_type,withdrawn,no_certificate"}

	tests := []struct {
		name    string
		doc     []byte
		opts    TSLOptions
		want    tslWant
		wantErr error
		errText string
	}{
		{name: "ok/unsigned-idv-only", doc: plain, want: defaultWant},
		{name: "ok/default-namespace", doc: tslDoc{services: f.services}.build(), want: defaultWant},
		{name: "ok/keep-withdrawn", doc: plain, opts: TSLOptions{KeepWithdrawn: true},
			want: tslWant{services: 6, kept: 4, certs: 6, loaded: 5, usable: 4, usableCNS: 4, repaired: 1, skipped: "service_type,no_certificate"}},
		{name: "ok/other-service-type", doc: plain, opts: TSLOptions{ServiceTypes: []string{svcTypeQTST}},
			want: tslWant{services: 6, kept: 1, certs: 1, loaded: 1, usable: 1, skipped: "service_type,service_type,service_type,service_type,service_type"}},
		{name: "ok/signed-reference-to-id", doc: signedA, opts: TSLOptions{Signer: f.signerA.cert}, want: signedWant(defaultWant)},
		{name: "ok/signed-reference-empty-uri", doc: signTSL(t, noID, f.signerA.key, f.signerA.cert), opts: TSLOptions{Signer: f.signerA.cert}, want: signedWant(defaultWant)},
		{name: "ok/signed-but-no-signer-configured", doc: signedA, want: defaultWant},

		{name: "fail/signature-missing", doc: plain, opts: TSLOptions{Signer: f.signerA.cert}, wantErr: ErrTSLSignature, errText: "signature"},
		{name: "fail/signed-by-another-key", doc: signTSL(t, plain, f.signerB.key, f.signerB.cert), opts: TSLOptions{Signer: f.signerA.cert}, wantErr: ErrTSLSignature, errText: "trusted certs"},
		{name: "fail/another-key-claiming-the-signer-cert", doc: signTSL(t, plain, f.signerB.key, f.signerA.cert), opts: TSLOptions{Signer: f.signerA.cert}, wantErr: ErrTSLSignature, errText: "verification error"},
		{name: "fail/tampered-service-type", doc: bytes.Replace(signedA, []byte(svcTypeQTST), []byte(ServiceTypeIdV), 1), opts: TSLOptions{Signer: f.signerA.cert}, wantErr: ErrTSLSignature},
		{name: "fail/tampered-status", doc: bytes.Replace(signedA, []byte(statusWithdrawn), []byte(statusGranted), 1), opts: TSLOptions{Signer: f.signerA.cert}, wantErr: ErrTSLSignature},
		{name: "fail/signer-expired", doc: signTSL(t, plain, f.old.key, f.old.cert), opts: TSLOptions{Signer: f.old.cert}, wantErr: ErrTSLSignature, errText: "not valid at this time"},

		{name: "fail/doctype-entities", doc: []byte(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>`), wantErr: ErrTSLInvalid, errText: "DOCTYPE"},
		{name: "fail/doctype-external", doc: []byte(`<!DOCTYPE tsl SYSTEM "file:///etc/passwd">` + string(plain[strings.Index(string(plain), "<tsl:"):])), wantErr: ErrTSLInvalid, errText: "DOCTYPE"},
		{name: "fail/garbage", doc: []byte("\x00\x01 this is not XML <<"), wantErr: ErrTSLInvalid, errText: "not well-formed XML"},
		{name: "fail/truncated", doc: plain[:len(plain)/2], wantErr: ErrTSLInvalid, errText: "not well-formed XML"},
		{name: "fail/empty", doc: nil, wantErr: ErrTSLInvalid, errText: "no XML element"},
		{name: "fail/nested-too-deep", doc: []byte(strings.Repeat("<a>", 100000) + strings.Repeat("</a>", 100000)), wantErr: ErrTSLInvalid, errText: "nested more than 64 deep"},
		{name: "fail/latin1-declared", doc: []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`), wantErr: ErrTSLInvalid, errText: "not well-formed XML"},
		{name: "fail/not-a-tsl", doc: []byte(`<html><body/></html>`), wantErr: ErrTSLInvalid, errText: "root element"},
		{name: "fail/wrong-namespace", doc: tslDoc{prefix: "tsl", ns: "urn:example:other", services: f.services}.build(), wantErr: ErrTSLInvalid, errText: "root element"},
		{name: "fail/too-large", doc: plain, opts: TSLOptions{MaxSize: 1024}, wantErr: ErrTSLInvalid, errText: "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewTrustStore()
			s.Now = fixedNow(t2018)
			rep, err := s.LoadTSL(tt.doc, tt.opts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.wantErr, tt.errText)
				}
				if rep != nil || s.Len() != 0 {
					t.Errorf("refused list still loaded %d anchors", s.Len())
				}
				t.Log(err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Log(rep.Summary())
			checkTSLReport(t, rep, tt.want)
			if s.Len() != tt.want.loaded {
				t.Errorf("Len = %d, want %d", s.Len(), tt.want.loaded)
			}
		})
	}
}

func signedWant(w tslWant) tslWant { w.signed = true; return w }

func checkTSLReport(t *testing.T, rep *LoadReport, w tslWant) {
	t.Helper()
	got := tslWant{services: rep.Services, kept: rep.ServicesKept, certs: rep.Certificates, loaded: rep.Loaded,
		usable: rep.Usable, usableCNS: rep.UsableCNS, repaired: rep.Repaired, signed: rep.SignatureOK}
	var reasons []string
	for _, s := range rep.SkippedServices {
		reasons = append(reasons, s.Reason)
	}
	got.skipped = strings.Join(reasons, ",")
	if got != w {
		t.Errorf("report = %+v\nwant     %+v", got, w)
	}
	sum := rep.Summary()
	if w.signed != strings.Contains(sum, "signature verified") || w.signed == strings.Contains(sum, "signature NOT checked") {
		t.Errorf("Summary %q does not tell whether the signature was checked", sum)
	}
	for _, e := range rep.Entries {
		if e.Status == StatusMalformed && !strings.Contains(e.Detail, "base64") {
			t.Errorf("malformed entry %+v", e)
		}
		if e.Status.Stored() && (e.ServiceType == "" || !strings.HasPrefix(e.Source, "TSL ")) {
			t.Errorf("entry without its service: %+v", e)
		}
	}
}

// The history certificate is loaded, marked as such, and the current key
// listed again in the history is not reported as a duplicate.
func TestTSLLoadHistoryAndIssuers(t *testing.T) {
	f := newTSLFixture(t)
	s := NewTrustStore()
	s.Now = fixedNow(t2018)
	rep, err := s.LoadTSL(tslDoc{prefix: "tsl", services: f.services}.build(), TSLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var history int
	for _, e := range rep.Entries {
		if e.Status == StatusDuplicate {
			t.Errorf("duplicate entry %+v", e)
		}
		if strings.HasSuffix(e.Source, "(history)") {
			history++
			if e.NotBefore.Year() != 2011 {
				t.Errorf("history entry %+v is not the 2011 key", e)
			}
		}
	}
	if history != 1 {
		t.Errorf("%d history entries, want 1", history)
	}
	a := readTestCert(t, "campania-cittadini-a.pem")
	if got := s.Issuers(leafNamedUnder(t, a, true)); len(got) != 1 || !got[0].Equal(a) {
		t.Error("Issuers did not pick the 2011 key loaded from the service history")
	}
}

// FuzzTSLLoad: whatever the input, LoadTSL neither panics nor half-loads.
func FuzzTSLLoad(f *testing.F) {
	f.Add([]byte(`<tsl:TrustServiceStatusList xmlns:tsl="http://uri.etsi.org/02231/v2#"><tsl:SchemeInformation><tsl:TSLSequenceNumber>3</tsl:TSLSequenceNumber><tsl:ListIssueDateTime>2018-12-14T10:00:00Z</tsl:ListIssueDateTime><tsl:NextUpdate><tsl:dateTime>2019-06-14T10:00:00Z</tsl:dateTime></tsl:NextUpdate></tsl:SchemeInformation><tsl:TrustServiceProviderList><tsl:TrustServiceProvider><tsl:TSPServices><tsl:TSPService><tsl:ServiceInformation><tsl:ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/IdV</tsl:ServiceTypeIdentifier><tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>MIIB</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity></tsl:ServiceInformation></tsl:TSPService></tsl:TSPServices></tsl:TrustServiceProvider></tsl:TrustServiceProviderList></tsl:TrustServiceStatusList>`))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`))
	f.Add([]byte("<a><b></a>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewTrustStore()
		s.Now = fixedNow(t2018)
		pool := NewIntermediatePool()
		rep, err := s.LoadTSL(data, TSLOptions{Intermediates: pool})
		if err != nil {
			if s.Len() != 0 || pool.Len() != 0 {
				t.Fatalf("refused list loaded %d anchors", s.Len())
			}
			return
		}
		if rep.Loaded != s.Len() || len(rep.Entries) != rep.Certificates {
			t.Fatalf("report %+v disagrees with the store (%d)", rep, s.Len())
		}
	})
}

// TestTSLScheme: the list's own sequence number and times are read, and a
// list without them (which could not be told from an older issue) is
// refused with the element named.
func TestTSLScheme(t *testing.T) {
	f := newTSLFixture(t)
	plain := tslDoc{prefix: "tsl", id: "tsl-it", services: f.services}.build()
	rep, err := NewTrustStore().LoadTSL(plain, TSLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc := rep.Scheme; sc == nil || sc.SequenceNumber != 17 || !sc.IssuedAt.Equal(time.Date(2018, 12, 14, 10, 0, 0, 0, time.UTC)) ||
		!sc.NextUpdate.Equal(time.Date(2019, 6, 14, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("scheme: %+v", rep.Scheme)
	}
	for _, tc := range []struct{ name, old, new, errText string }{
		{"fail/no-sequence-number", "<tsl:TSLSequenceNumber>17</tsl:TSLSequenceNumber>", "", `TSLSequenceNumber ""`},
		{"fail/sequence-number-zero", ">17<", ">0<", `TSLSequenceNumber "0"`},
		{"fail/issue-time-not-a-time", "2018-12-14T10:00:00Z", "14/12/2018", `ListIssueDateTime "14/12/2018"`},
		{"fail/next-update-not-a-time", "2019-06-14T10:00:00Z", "soon", `NextUpdate "soon"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(string(plain), tc.old, tc.new, 1)
			if doc == string(plain) {
				t.Fatalf("%q not in the document", tc.old)
			}
			s := NewTrustStore()
			_, err := s.LoadTSL([]byte(doc), TSLOptions{})
			if !errors.Is(err, ErrTSLInvalid) || !strings.Contains(err.Error(), tc.errText) {
				t.Fatalf("err = %v, want ErrTSLInvalid with %q", err, tc.errText)
			}
			if s.Len() != 0 {
				t.Fatalf("%d anchors added from a refused list", s.Len())
			}
		})
	}
}

// TestTSLIntermediates: with a pool, the CIE SUBCA1 listed beside the CIE
// root goes to the pool, not the anchors; the self-signed CAs stay
// anchors; without a pool both are anchors, as before.
func TestTSLIntermediates(t *testing.T) {
	f := newTSLFixture(t)
	doc := tslDoc{prefix: "tsl", id: "tsl-it", services: f.services}.build()
	store, pool := NewTrustStore(), NewIntermediatePool()
	store.Now, pool.Now = func() time.Time { return t2018 }, func() time.Time { return t2018 }
	rep, err := store.LoadTSL(doc, TSLOptions{Intermediates: pool})
	if err != nil {
		t.Fatal(err)
	}
	sub := parseTestCert(t, readTestDER(t, "cie-subca1.pem"))
	root := parseTestCert(t, readTestDER(t, "cie-root.pem"))
	if store.Contains(sub) || !store.Contains(root) || pool.Len() != 1 || len(rep.Intermediates) != 1 || rep.Loaded != 3 {
		t.Fatalf("anchors %d (sub-CA among them: %v), pool %d, report %d intermediates, %d loaded",
			store.Len(), store.Contains(sub), pool.Len(), len(rep.Intermediates), rep.Loaded)
	}
	if e := rep.Intermediates[0]; e.Status != StatusUsable || !strings.Contains(e.Detail, "a root of the same list") {
		t.Fatalf("intermediate entry: %+v", e)
	}
	if !strings.Contains(rep.Summary(), "1 sub-CAs of listed roots kept as intermediates") {
		t.Fatalf("summary: %s", rep.Summary())
	}
	if got := pool.Issuers(&x509.Certificate{RawIssuer: sub.RawSubject, AuthorityKeyId: sub.SubjectKeyId}); len(got) != 1 {
		t.Fatalf("the pool does not offer the sub-CA as an issuer: %d", len(got))
	}
	plain := NewTrustStore()
	plain.Now = store.Now
	if _, err := plain.LoadTSL(doc, TSLOptions{}); err != nil || !plain.Contains(sub) {
		t.Fatalf("without a pool the sub-CA is not an anchor: %v", err)
	}
}

func parseTestCert(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTSLTwoSignaturesRefused: a list carrying a second ds:Signature
// beside its own is refused, whichever of the two would verify.
func TestTSLTwoSignaturesRefused(t *testing.T) {
	f := newTSLFixture(t)
	signed := string(signTSL(t, tslDoc{prefix: "tsl", id: "tsl-it", services: f.services}.build(), f.signerA.key, f.signerA.cert))
	i, j := strings.Index(signed, "<ds:Signature"), strings.Index(signed, "</ds:Signature>")
	if i < 0 || j < 0 {
		t.Fatalf("no ds:Signature in the signed list")
	}
	sig := signed[i : j+len("</ds:Signature>")]
	doubled := signed[:i] + sig + signed[i:]
	_, err := NewTrustStore().LoadTSL([]byte(doubled), TSLOptions{Signer: f.signerA.cert})
	if !errors.Is(err, ErrTSLSignature) || !strings.Contains(err.Error(), "2 ds:Signature elements") {
		t.Fatalf("err = %v", err)
	}
}
