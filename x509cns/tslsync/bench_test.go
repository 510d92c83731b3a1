package tslsync

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// realSizedList is a trusted list holding the 358 CA certificates of the
// 2018 Italian list (x509cns/testdata/it-tsl-2018), one IdV service each:
// the size of the list cnsgate fetches.
func realSizedList(tb testing.TB) cnstest.TrustedList {
	tb.Helper()
	dir := filepath.Join("..", "testdata", "it-tsl-2018")
	files, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil || len(files) < 300 {
		tb.Fatalf("%s: %d files, %v", dir, len(files), err)
	}
	l := cnstest.TrustedList{ID: "tsl-it", Sequence: 1}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		b, _ := pem.Decode(raw)
		if b == nil {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil { // the few non-DER 2018 roots: leave them out here
			continue
		}
		l.Providers = append(l.Providers, cnstest.TSLProvider{Name: c.Issuer.CommonName, Services: []cnstest.TSLService{
			{Type: cnstest.TSLServiceIdV, Name: c.Subject.CommonName, Status: cnstest.TSLStatusGranted, Certs: []*x509.Certificate{c}}}})
	}
	return l
}

// BenchmarkFetchRealSizedList: one fetch of a real-sized list from a
// loopback server, signature verification and classification included.
func BenchmarkFetchRealSizedList(b *testing.B) {
	signer, err := cnstest.NewTSLSigner("AgID TSL signer (test)")
	if err != nil {
		b.Fatal(err)
	}
	doc, err := signer.Sign(realSizedList(b))
	if err != nil {
		b.Fatal(err)
	}
	ls := newListServer(b)
	ls.set(func(ls *listServer) { ls.body = doc })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := New(Options{URL: ls.URL, Signer: signer.Cert})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Fetch(context.Background()); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			defer b.ReportMetric(float64(s.Current().Report.Usable), "anchors")
		}
	}
	b.ReportMetric(float64(len(doc)), "list_bytes")
}

// TestRealSizedListSignedByXMLSec1: a list of real size (358 services,
// some 5,000 elements, far beyond goxmldsig's own budget of 1000 before the
// signature) signed by xmlsec1 is fetched and verified; the same list with
// one service type changed after signing is refused.
func TestRealSizedListSignedByXMLSec1(t *testing.T) {
	signer, err := cnstest.NewTSLSigner("AgID TSL signer (test)")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := signer.SignXMLSec1(realSizedList(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ls := newListServer(t)
	ls.set(func(ls *listServer) { ls.body = doc })
	s, err := New(Options{URL: ls.URL, Signer: signer.Cert})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := s.Current().Report
	t.Logf("%d bytes, %d services, %d usable anchors now: fetched and verified in %v", len(doc), r.Services, r.Usable, time.Since(start).Round(time.Millisecond))
	if r.Services < 300 || !r.SignatureOK {
		t.Fatalf("report %+v", r)
	}
	ls.set(func(ls *listServer) {
		ls.body = bytes.Replace(doc, []byte(cnstest.TSLServiceIdV), []byte(cnstest.TSLServiceCAQC), 1)
	})
	s2, _ := New(Options{URL: ls.URL, Signer: signer.Cert})
	if err := s2.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "bad_signature") {
		t.Fatalf("tampered real-sized list: %v", err)
	}
}
