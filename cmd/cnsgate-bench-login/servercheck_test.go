package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestServerCheck: the generator's check of the server refuses a
// certificate its roots do not vouch for and a name it was not issued
// for, each time it is presented, and accepts the right one on every
// connection.
func TestServerCheck(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	good := x509.NewCertPool()
	good.AddCert(srv.Certificate())
	for _, tc := range []struct {
		name  string
		roots *x509.CertPool
		url   string
		ok    bool
	}{
		{"ok/trusted", good, srv.URL, true},
		{"fail/untrusted", x509.NewCertPool(), srv.URL, false},
		{"fail/wrong-name", good, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTLSClient(newServerCheck(tc.roots), nil, true)
			for i := range 3 { // new connections: the first verifies, the others compare
				resp, err := c.Get(tc.url)
				if err == nil {
					resp.Body.Close()
				}
				if (err == nil) != tc.ok {
					t.Fatalf("connection %d: %v", i, err)
				}
			}
		})
	}
}

func TestCardLink(t *testing.T) {
	for _, tc := range []struct {
		name, page, want string
	}{
		{"ok/link", `<a class="x" href="https://cns:8444/cns/login?req=abc&amp;lang=it">Entra</a>`, "https://cns:8444/cns/login?req=abc&lang=it"},
		{"ok/second-href", `<a href="/help">?</a> <a href="https://cns/cns/login?req=z">`, "https://cns/cns/login?req=z"},
		{"fail/none", `<a href="/help">?</a>`, ""},
		{"fail/empty-req", `<a href="https://cns/cns/login?req=">`, ""},
		{"fail/not-in-href", `<a href="/x">/cns/login?req=abc"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := cardLink(tc.page)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("%q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

// BenchmarkServerCheck is the load generator's check of the server's
// certificate per new connection: crypto/tls's own (x509 Verify of an
// ECDSA P-256 leaf, as the demo's, against its CA) against serverCheck's
// byte comparison after the first verification.
//
//	go test -run '^$' -bench ServerCheck ./cmd/cnsgate-bench-login/
func BenchmarkServerCheck(b *testing.B) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), DNSNames: []string{"localhost"}, NotBefore: caTmpl.NotBefore,
		NotAfter: caTmpl.NotAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	cs := func() tls.ConnectionState { // as each new connection parses it
		leaf, _ := x509.ParseCertificate(leafDER)
		return tls.ConnectionState{ServerName: "localhost", PeerCertificates: []*x509.Certificate{leaf}}
	}
	b.Run("x509-verify", func(b *testing.B) {
		for b.Loop() {
			c := cs()
			if _, err := c.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: c.ServerName}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("server-check", func(b *testing.B) {
		check := newServerCheck(roots)
		for b.Loop() {
			if err := check.verify(cs()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
