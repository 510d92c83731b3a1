package revocation

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"
)

// entryString renders entries for comparison: serial, time, reason.
func stdEntries(rl *x509.RevocationList) []string {
	var out []string
	for _, e := range rl.RevokedCertificateEntries {
		out = append(out, fmt.Sprintf("%x %d %d", e.SerialNumber, e.RevocationTime.Unix(), e.ReasonCode))
	}
	slices.Sort(out)
	return out
}

func ourEntries(p *parsedCRL) []string {
	var out []string
	t := p.table
	for i := range t.Len() {
		when, reason := t.entry(i)
		out = append(out, fmt.Sprintf("%x %d %d", keyInt(t.key(i)), when, reason))
	}
	slices.Sort(out)
	return out
}

// sameAsStdlib fails unless p and rl say the same thing.
func sameAsStdlib(t testing.TB, p *parsedCRL, rl *x509.RevocationList) {
	t.Helper()
	if a, b := ourEntries(p), stdEntries(rl); !slices.Equal(a, b) {
		t.Fatalf("entries differ:\nours   %d %.5q\nstdlib %d %.5q", len(a), a, len(b), b)
	}
	if !p.thisUpdate.Equal(rl.ThisUpdate) || !p.nextUpdate.Equal(rl.NextUpdate) {
		t.Fatalf("times differ: %v/%v vs %v/%v", p.thisUpdate, p.nextUpdate, rl.ThisUpdate, rl.NextUpdate)
	}
	if (p.number == nil) != (rl.Number == nil) || p.number != nil && p.number.Cmp(rl.Number) != 0 {
		t.Fatalf("number %v vs %v", p.number, rl.Number)
	}
	if !bytes.Equal(p.rawIssuer, rl.RawIssuer) || !bytes.Equal(p.authKeyID, rl.AuthorityKeyId) {
		t.Fatal("issuer or AKI differ")
	}
	if !bytes.Equal(p.tbs, rl.RawTBSRevocationList) || !bytes.Equal(p.signature, rl.Signature) || p.sigAlg != rl.SignatureAlgorithm {
		t.Fatal("signed parts differ")
	}
	for i := range p.table.Len() {
		if j, ok := p.table.find(p.table.key(i)); !ok || !bytes.Equal(p.table.key(j), p.table.key(i)) {
			t.Fatalf("entry %d not found by the index", i)
		}
	}
}

func TestParseCRLMatchesStdlib(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	serials := []*big.Int{big.NewInt(1), big.NewInt(127), big.NewInt(128), big.NewInt(255), big.NewInt(256),
		new(big.Int).Lsh(big.NewInt(1), 159), new(big.Int).SetBytes(bytes.Repeat([]byte{0xab}, 20)), big.NewInt(0)}
	entries := func(reasons bool) []x509.RevocationListEntry {
		var out []x509.RevocationListEntry
		for i, s := range serials { // deliberately not sorted
			out = append(out, x509.RevocationListEntry{SerialNumber: s, RevocationTime: now.Add(-time.Duration(i) * time.Hour)})
			if reasons {
				out[i].ReasonCode = i % 11
			}
		}
		return out
	}
	tests := []struct {
		name string
		tpl  x509.RevocationList
	}{
		{"ok/empty", x509.RevocationList{}},
		{"ok/unsorted-many-widths", x509.RevocationList{RevokedCertificateEntries: entries(false)}},
		{"ok/reason-codes", x509.RevocationList{RevokedCertificateEntries: entries(true)}},
		{"ok/generalized-time", x509.RevocationList{ThisUpdate: time.Date(2051, 1, 2, 3, 4, 5, 0, time.UTC),
			NextUpdate: time.Date(2052, 2, 29, 0, 0, 0, 0, time.UTC),
			RevokedCertificateEntries: []x509.RevocationListEntry{
				{SerialNumber: big.NewInt(9), RevocationTime: time.Date(2050, 12, 31, 23, 59, 59, 0, time.UTC)},
				{SerialNumber: big.NewInt(10), RevocationTime: time.Date(1949, 12, 31, 23, 59, 59, 0, time.UTC)},
			}}},
		{"ok/invalidity-date", x509.RevocationList{RevokedCertificateEntries: []x509.RevocationListEntry{{
			SerialNumber: big.NewInt(42), RevocationTime: now,
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 24}, Value: []byte{0x18, 0x0f, '2', '0', '2', '6', '0', '1', '0', '1', '0', '0', '0', '0', '0', '0', 'Z'}}},
		}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl := tc.tpl
			tpl.Number = big.NewInt(7)
			if tpl.ThisUpdate.IsZero() {
				tpl.ThisUpdate, tpl.NextUpdate = now, now.Add(24*time.Hour)
			}
			der, err := x509.CreateRevocationList(rand.Reader, &tpl, e.ca.Cert, e.ca.Key)
			if err != nil {
				t.Fatal(err)
			}
			rl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatal(err)
			}
			p, err := parseCRL(der)
			if err != nil {
				t.Fatal(err)
			}
			sameAsStdlib(t, p, rl)
			if err := p.checkSignatureFrom(e.ca.Cert); err != nil {
				t.Fatal(err)
			}
			for _, s := range serials {
				_, listed := p.table.lookup(s)
				want := slices.ContainsFunc(rl.RevokedCertificateEntries, func(x x509.RevocationListEntry) bool { return x.SerialNumber.Cmp(s) == 0 })
				if listed != want {
					t.Errorf("lookup(%v) = %v, want %v", s, listed, want)
				}
			}
		})
	}
}

func TestParseCRLHandcrafted(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	crit := func(oid asn1.ObjectIdentifier, v []byte) pkix.Extension {
		return pkix.Extension{Id: oid, Critical: true, Value: v}
	}
	idp := func(inner []byte) []byte { return append([]byte{0x30, byte(len(inner))}, inner...) }
	uri := "http://crl.example.test/part1.crl"
	idpURI := idp(append([]byte{0xa0, byte(len(uri) + 4), 0xa0, byte(len(uri) + 2), 0x86, byte(len(uri))}, uri...))
	entry := crlEntry{serial: big.NewInt(5), at: now, reason: 1}
	tests := []struct {
		name    string
		spec    crlSpec
		errIs   error // nil: parses
		v1      bool
		scope   []string
		entries int
	}{
		{name: "ok/v2", spec: crlSpec{version: 1, entries: []crlEntry{entry}}, entries: 1},
		{name: "ok/v1-no-version", spec: crlSpec{noAKI: true, entries: []crlEntry{entry}}, v1: true, entries: 1},
		{name: "ok/no-next-update", spec: crlSpec{version: 1, nextUpdate: time.Time{}}},
		{name: "ok/generalized-times", spec: crlSpec{version: 1, generalized: true, entries: []crlEntry{{serial: big.NewInt(1), at: now, reason: -1, generalized: true}}}, entries: 1},
		{name: "ok/empty-list", spec: crlSpec{version: 1, emptyList: true}},
		{name: "ok/negative-serial", spec: crlSpec{version: 1, entries: []crlEntry{{serial: big.NewInt(-300), at: now, reason: -1}, entry}}, entries: 2},
		{name: "ok/partition", spec: crlSpec{version: 1, exts: []pkix.Extension{crit(oidIssuingDP, idpURI)}}, scope: []string{uri}},
		{name: "ok/only-user-certs", spec: crlSpec{version: 1, exts: []pkix.Extension{crit(oidIssuingDP, idp([]byte{0x81, 0x01, 0xff}))}}},
		{name: "fail/version-3", spec: crlSpec{version: 2}, errIs: ErrMalformed},
		{name: "fail/critical-crl-extension", spec: crlSpec{version: 1, exts: []pkix.Extension{crit(asn1.ObjectIdentifier{1, 2, 3, 4}, []byte{5, 0})}}, errIs: ErrUnsupported},
		{name: "fail/delta-crl", spec: crlSpec{version: 1, exts: []pkix.Extension{crit(oidDeltaCRL, []byte{2, 1, 1})}}, errIs: ErrUnsupported},
		{name: "fail/indirect-idp", spec: crlSpec{version: 1, exts: []pkix.Extension{crit(oidIssuingDP, idp([]byte{0x84, 0x01, 0xff}))}}, errIs: ErrUnsupported},
		{name: "fail/only-ca-certs", spec: crlSpec{version: 1, exts: []pkix.Extension{crit(oidIssuingDP, idp([]byte{0x82, 0x01, 0xff}))}}, errIs: ErrUnsupported},
		{name: "fail/only-some-reasons", spec: crlSpec{version: 1, exts: []pkix.Extension{crit(oidIssuingDP, idp([]byte{0x83, 0x02, 0x07, 0x80}))}}, errIs: ErrUnsupported},
		{name: "fail/certificate-issuer", spec: crlSpec{version: 1, entries: []crlEntry{{serial: big.NewInt(1), at: now, reason: -1,
			exts: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 29}, Value: []byte{0x30, 0x00}}}}}}, errIs: ErrUnsupported},
		{name: "fail/critical-entry-extension", spec: crlSpec{version: 1, entries: []crlEntry{{serial: big.NewInt(1), at: now, reason: -1,
			exts: []pkix.Extension{crit(asn1.ObjectIdentifier{1, 2, 3}, []byte{5, 0})}}}}, errIs: ErrUnsupported},
		{name: "fail/reason-out-of-range", spec: crlSpec{version: 1, entries: []crlEntry{{serial: big.NewInt(1), at: now, reason: 300}}}, errIs: ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.issuer, s.key, s.thisUpdate, s.number = e.ca.Cert, e.ca.Key, now, big.NewInt(3)
			if tc.name != "ok/no-next-update" {
				s.nextUpdate = now.Add(time.Hour)
			}
			der := s.encode(t)
			p, err := parseCRL(der)
			if tc.errIs != nil {
				if !errors.Is(err, tc.errIs) {
					t.Fatalf("err = %v, want %v", err, tc.errIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.v1 != tc.v1 || !slices.Equal(p.scope, tc.scope) || p.table.Len() != tc.entries {
				t.Fatalf("v1 %v scope %v entries %d", p.v1, p.scope, p.table.Len())
			}
			if err := p.checkSignatureFrom(e.ca.Cert); err != nil {
				t.Fatal(err)
			}
			if rl, err := x509.ParseRevocationList(der); err == nil {
				sameAsStdlib(t, p, rl)
			} else if !tc.v1 {
				t.Fatalf("stdlib refuses what we accept: %v", err)
			}
		})
	}
}

func TestParseCRLMalformed(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	good := crlSpec{version: 1, issuer: e.ca.Cert, key: e.ca.Key, thisUpdate: now, nextUpdate: now.Add(time.Hour),
		entries: []crlEntry{{serial: big.NewInt(77), at: now, reason: 1}}}.encode(t)
	nonMinimal := bytes.Replace(good, []byte{0x02, 0x01, 77}, []byte{0x02, 0x02, 0x00}, 1)
	tests := []struct {
		name string
		der  []byte
	}{
		{"fail/empty", nil},
		{"fail/garbage", []byte("not a crl at all")},
		{"fail/truncated", good[:len(good)/2]},
		{"fail/pem-not-decoded", []byte("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n")},
		{"fail/non-minimal-serial-length", nonMinimal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseCRL(tc.der); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// FuzzParseCRL checks parseCRL against x509.ParseRevocationList: what we
// accept, the standard library accepts with the same entries, times and
// number (v1 CRLs aside, which it refuses); what it accepts, we accept
// unless we refuse it on purpose (ErrUnsupported).
func FuzzParseCRL(f *testing.F) {
	e := newEnv(f)
	now := e.clock.Now()
	base := crlSpec{version: 1, issuer: e.ca.Cert, key: e.ca.Key, thisUpdate: now, nextUpdate: now.Add(time.Hour), number: big.NewInt(1)}
	for _, s := range []crlSpec{
		base,
		{version: 1, issuer: e.ca.Cert, key: e.ca.Key, thisUpdate: now, generalized: true, entries: []crlEntry{
			{serial: big.NewInt(300), at: now, reason: 4}, {serial: big.NewInt(-2), at: now, reason: -1, generalized: true}}},
		{issuer: e.ca.Cert, key: e.ca.Key, thisUpdate: now, noAKI: true, entries: []crlEntry{{serial: big.NewInt(1), at: now, reason: -1}}},
	} {
		f.Add(s.encode(f))
	}
	withEntries := base
	for i := range 5 {
		withEntries.entries = append(withEntries.entries, crlEntry{serial: big.NewInt(int64(1000 - i*97)), at: now, reason: i})
	}
	f.Add(withEntries.encode(f))
	f.Fuzz(func(t *testing.T, der []byte) {
		p, err := parseCRL(der)
		rl, stdErr := x509.ParseRevocationList(der)
		switch {
		case err == nil && stdErr == nil:
			sameAsStdlib(t, p, rl)
		case err == nil && !p.v1:
			t.Fatalf("we accept, stdlib refuses: %v", stdErr)
		case err != nil && stdErr == nil && !errors.Is(err, ErrUnsupported):
			t.Fatalf("stdlib accepts, we refuse: %v", err)
		}
	})
}
