package main

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
