package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
)

// crlFaultRig is a demo directory whose demo CA's CRL comes from a
// loopback HTTP server of the test, in mode crl, failure closed, with the
// CRL cache in the demo directory; serve can be started on it more than
// once.
type crlFaultRig struct {
	setup    *demo.Setup
	cacheDir string
	crl      *cnstest.CRLServer // the demo CA's CRL, listing the revoked card
	srv      *httptest.Server
	hostile  atomic.Pointer[http.HandlerFunc] // when set, answers instead of crl
}

func newCRLFaultRig(t *testing.T) *crlFaultRig {
	t.Helper()
	setup, err := demo.Prepare(t.TempDir(), demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := &crlFaultRig{setup: setup, cacheDir: filepath.Join(setup.Dir, "crl-cache")}
	handlers, err := setup.CAHandlers()
	if err != nil {
		t.Fatal(err)
	}
	r.crl = handlers[demo.CRLPath].(*cnstest.CRLServer)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if h := r.hostile.Load(); h != nil {
			(*h)(w, req)
			return
		}
		r.crl.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	raw, err := os.ReadFile(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	y := string(raw)
	if !demoCACRLURL.MatchString(y) || !strings.Contains(y, "  mode: crl_then_ocsp\n") {
		t.Fatalf("the demo config has no CRL URL for its CA or no revocation mode:\n%s", y)
	}
	y = demoCACRLURL.ReplaceAllString(y, r.srv.URL+"/ca.crl")
	y = strings.Replace(y, "  mode: crl_then_ocsp\n", "  mode: crl\n  failure: closed\n  cache_dir: "+r.cacheDir+"\n", 1)
	if err := os.WriteFile(setup.ConfigFile, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// start runs serve on the rig's directory, logging into logs, until stop.
func (r *crlFaultRig) start(t *testing.T, logs io.Writer) *testServer {
	t.Helper()
	cfg, err := config.Load(r.setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{cfg: cfg, setup: r.setup, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan bound, 1)
	caHandlers, err := r.setup.CAHandlers() // the CIE CRLs and the OCSP responder
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() {
		s.done <- serve(ctx, cfg, r.setup.ConfigFile, logger, func(b bound) { ready <- b }, serveExtras{admin: caHandlers})
	}()
	select {
	case s.b = <-ready:
	case err := <-s.done:
		t.Fatalf("serve: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-s.done:
			case <-time.After(20 * time.Second):
				t.Error("serve did not stop")
			}
		})
	}
	t.Cleanup(stop)
	s.cancel = stop
	return s
}

// demoCAFile is the demo CA's file in the cache directory, which must
// exist.
func (r *crlFaultRig) demoCAFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(r.cacheDir, revocation.CacheFileName(r.crlCA(t)))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the demo CA's CRL is not in the cache directory: %v", err)
	}
	return path
}

func (r *crlFaultRig) crlCA(t *testing.T) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.setup.Dir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := x509cns.ParseCertificates(data)
	if err != nil || len(certs) != 1 {
		t.Fatalf("demo CA certificate: %d, %v", len(certs), err)
	}
	return certs[0]
}

func (r *crlFaultRig) card(t *testing.T, name string) demo.Card {
	t.Helper()
	c, ok := r.setup.Card(name)
	if !ok {
		t.Fatalf("the demo has no %s card", name)
	}
	return c
}

// expectAccepted checks a card over mTLS and expects it accepted.
func expectAccepted(t *testing.T, s *testServer, c demo.Card) {
	t.Helper()
	v, resp := cnsLogin(t, s.client(t, loadCard(t, c), nil), s.b.CNS)
	if resp.StatusCode != http.StatusOK || v.Verdict != "accepted" {
		t.Fatalf("%s card: %d %+v", c.Name, resp.StatusCode, v)
	}
}

// expectRevoked logs the card in over mTLS and expects the revoked page,
// the audit row and the count.
func expectRevoked(t *testing.T, s *testServer, c demo.Card) {
	t.Helper()
	if code, body := cardLoginPage(t, s, c); code != http.StatusForbidden || !strings.Contains(body, html.EscapeString(web.ReasonMessage(web.Italian, "revoked"))) {
		t.Fatalf("%s card: %d\n%s", c.Name, code, body)
	}
	refusedLoginEvent(t, s, "revoked")
	if m := scrape(t, s.b.Admin); !strings.Contains(m, `cnsgate_login_attempts_total{outcome="failure",reason="revoked"} 1`) {
		t.Errorf("/metrics lacks the revoked login:\n%s", grepLines(m, "login_attempts"))
	}
}

// waitAudit waits until the registry holds a failure event matching.
func waitAudit(t *testing.T, s *testServer, what string, match func(registry.Event) bool) registry.Event {
	t.Helper()
	reg, err := sqlstore.Open(context.Background(), string(s.cfg.Registry.Driver), s.cfg.Registry.DSN.Value())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	var found registry.Event
	waitFor(t, what, 10*time.Second, func() bool {
		events, err := reg.QueryAudit(context.Background(), registry.AuditQuery{Outcome: registry.OutcomeFailure})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if match(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// crlRefreshFailed expects the demo CA's failed CRL refresh on the audit
// trail and in /metrics.
func crlRefreshFailed(t *testing.T, s *testServer) {
	t.Helper()
	waitAudit(t, s, "the failed CRL refresh on the audit trail", func(e registry.Event) bool {
		return e.Kind == registry.KindCRLRefreshFailure && e.Issuer == demo.DemoCAName && e.Reason == "revocation_unavailable"
	})
	want := fmt.Sprintf(`cnsgate_crl_refresh_failures_total{issuer=%q} 1`, demo.DemoCAName)
	if m := scrape(t, s.b.Admin); !strings.Contains(m, want) {
		t.Errorf("/metrics lacks %s:\n%s", want, grepLines(m, "crl_refresh"))
	}
}

// TestAttackHugeChunkedCRL: the demo CA's CRL server, after serving a
// good CRL once, answers with 200 MB sent chunked (no Content-Length): a
// DER CRL announcing all of it; the same in PEM; a DER header announcing
// 60 MiB, under the cap, followed by all 200 MB; 200 MB of text that is
// no CRL at all. A running server with the default crl_max_bytes (64
// MiB) stops reading at the cap or sooner, keeps the CRL it had (a good
// card still logs in, the revoked one is still refused as revoked), logs
// the refusal with its cause, and counts and audits the failed refresh.
func TestAttackHugeChunkedCRL(t *testing.T) {
	const offered = 200 << 20
	const slack = 8 << 20 // what the kernel's socket buffers take before the client stops reading
	r := newCRLFaultRig(t)
	s := r.start(t, io.Discard)
	r.demoCAFile(t)
	s.cancel()

	header := func(n int) []byte { return []byte{0x30, 0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }
	for _, tc := range []struct {
		name  string
		first []byte
		fill  byte
		limit int64 // bytes the server may take
		cause string
	}{
		{"der-announcing-200MB", header(offered), 0, slack, "DER CRL of 209715206 bytes, limit 67108864"},
		{"pem-announcing-200MB", []byte("-----BEGIN X509 CRL-----\n" + base64.StdEncoding.EncodeToString(header(offered))), 'A', slack,
			"DER CRL of 209715206 bytes, limit 67108864"},
		{"der-announcing-60MiB-then-more", header(60 << 20), 0, revocation.DefaultCRLMaxBytes + slack, "over 67108864 bytes"},
		{"text-no-crl", []byte("<html>"), 'x', 1<<20 + slack, "neither DER nor a PEM X509 CRL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent atomic.Int64
			done := make(chan struct{})
			hostile := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				defer close(done)
				w.Header().Set("Content-Type", "application/pkix-crl")
				flush := w.(http.Flusher)
				chunk := bytes.Repeat([]byte{tc.fill}, 32<<10)
				n, err := w.Write(tc.first)
				sent.Add(int64(n))
				for err == nil && sent.Load() < offered {
					n, err = w.Write(chunk)
					sent.Add(int64(n))
					flush.Flush()
				}
			})
			r.hostile.Store(&hostile)
			logs := &syncBuffer{}
			s := r.start(t, logs)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the hostile CRL server was not asked, or not let go")
			}
			if n := sent.Load(); n > tc.limit || n >= offered {
				t.Fatalf("the server took %d bytes of the %d offered (at most %d expected)", n, offered, tc.limit)
			}
			t.Logf("%s: %d bytes taken of %d offered", tc.name, sent.Load(), offered)
			crlRefreshFailed(t, s)
			if l := logs.String(); !strings.Contains(l, "CRL refresh failed") || !strings.Contains(l, tc.cause) {
				t.Errorf("the refusal is not logged with %q:\n%s", tc.cause, grepLines(l, "revocation"))
			}
			expectAccepted(t, s, r.card(t, "citizen"))
			expectRevoked(t, s, r.card(t, "revoked"))
			s.cancel()
		})
	}
}

// TestRestartWithCRLServerDown: serve fetches the demo CA's CRL and
// stops; the CRL server goes away; serve restarts on the same cache_dir
// under failure closed: a good card logs in and the card the cached CRL
// lists is refused as revoked. With the cache file tampered with, it is
// ignored (logged) and the login is refused as revocation_unavailable.
func TestRestartWithCRLServerDown(t *testing.T) {
	r := newCRLFaultRig(t)
	s := r.start(t, io.Discard)
	expectAccepted(t, s, r.card(t, "citizen"))
	file := r.demoCAFile(t)
	s.cancel()
	r.srv.Close()

	logs := &syncBuffer{}
	s = r.start(t, logs)
	if l := logs.String(); !strings.Contains(l, "CRL loaded") || !strings.Contains(l, file) {
		t.Fatalf("the cached CRL was not loaded:\n%s", grepLines(l, "revocation"))
	}
	expectAccepted(t, s, r.card(t, "citizen"))
	expectRevoked(t, s, r.card(t, "revoked"))
	crlRefreshFailed(t, s) // the fetch at start, with the server gone
	if m := scrape(t, s.b.Admin); !strings.Contains(m, `cnsgate_revocation_checks_total{method="crl",result="good"} 1`) {
		t.Errorf("/metrics lacks the good check:\n%s", grepLines(m, "revocation_checks"))
	}
	s.cancel()

	der, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	der[len(der)-20] ^= 0x01 // in the signature
	if err := os.WriteFile(file, der, 0o600); err != nil {
		t.Fatal(err)
	}
	logs = &syncBuffer{}
	s = r.start(t, logs)
	if l := logs.String(); !strings.Contains(l, "cached CRL ignored") || !strings.Contains(l, "signature") {
		t.Fatalf("the tampered cache file is not reported:\n%s", grepLines(l, "revocation"))
	}
	refusedUnavailable(t, s, "crl", "connection refused")
}
