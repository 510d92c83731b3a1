package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// demoCardCA reloads the running demo's card CA, so that a test can mint
// certificates the server would trust.
func demoCardCA(t *testing.T, s *testServer) *cnstest.CA {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(s.setup.Dir, "pki", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ca, err := cnstest.LoadCA(read("ca.crt"), read("ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// presenting returns a client of the card listener that presents exactly
// certs (leaf first) signed for with key.
func (s *testServer) presenting(t *testing.T, key crypto.PrivateKey, certs ...*x509.Certificate) *http.Client {
	t.Helper()
	pair := &tls.Certificate{PrivateKey: key}
	for _, c := range certs {
		pair.Certificate = append(pair.Certificate, c.Raw)
	}
	return s.client(t, pair, nil)
}

// cnsLoginPage is "Login TS-CNS" on the card listener: status and page.
func cnsLoginPage(t *testing.T, c *http.Client, addr string) (int, string) {
	t.Helper()
	resp, err := c.Get("https://" + addr + "/cns/login")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// counter reads one sample of the running server's /metrics (0 when absent).
func (s *testServer) counter(t *testing.T, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.b.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// refusedLogins returns the login failures of reason the running server
// has audited, which must be want of them.
func (s *testServer) refusedLogins(t *testing.T, reason string, want int) []registry.Event {
	t.Helper()
	ctx := context.Background()
	reg, err := sqlstore.Open(ctx, string(s.cfg.Registry.Driver), s.cfg.Registry.DSN.Value())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	// The refusal is audited before the page is written: no waiting.
	events, err := reg.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindLogin, Outcome: registry.OutcomeFailure})
	if err != nil {
		t.Fatal(err)
	}
	var got []registry.Event
	for _, e := range events {
		if e.Reason == reason {
			got = append(got, e)
		}
	}
	if len(got) != want {
		t.Fatalf("%d audited %s refusals, want %d: %+v", len(got), reason, want, got)
	}
	return got
}

// TestAttackHostileChainOnCardListener is the review's attack of issue 13
// item 1 against the running gateway: an unauthenticated TLS client
// presents a card followed by 14 self-issued intermediates named like the
// trusted CA. It is refused with chain_too_long before any signature is
// checked; the refusal is on the citizen's page, in /metrics and in the
// audit trail, and trust.max_intermediates (here 2) is what draws the line.
func TestAttackHostileChainOnCardListener(t *testing.T) {
	s := startServer(t, func(y string) string {
		return strings.Replace(y, "trust:\n", "trust:\n  max_intermediates: 2\n", 1)
	})
	if s.cfg.Trust.MaxIntermediates != 2 {
		t.Fatalf("trust.max_intermediates = %d, want 2", s.cfg.Trust.MaxIntermediates)
	}
	ca := demoCardCA(t, s)
	hostile, err := ca.SelfIssuedChain(14, cnstest.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const metric = `cnsgate_login_attempts_total{outcome="failure",reason="chain_too_long"}`
	before := s.counter(t, metric)

	status, body := cnsLoginPage(t, s.presenting(t, hostile.Key, append([]*x509.Certificate{hostile.Cert}, hostile.Chain...)...), s.b.CNS)
	if status != http.StatusForbidden || !strings.Contains(body, "catena di certificati troppo lunga") {
		t.Fatalf("hostile chain: %d\n%s", status, body)
	}
	// Two intermediates pass the cap (and fail as the unknown chain they
	// are); three do not.
	status, _ = cnsLoginPage(t, s.presenting(t, hostile.Key, append([]*x509.Certificate{hostile.Cert}, hostile.Chain[:2]...)...), s.b.CNS)
	if status != http.StatusForbidden {
		t.Fatalf("two self-issued intermediates: %d", status)
	}
	status, _ = cnsLoginPage(t, s.presenting(t, hostile.Key, append([]*x509.Certificate{hostile.Cert}, hostile.Chain[:3]...)...), s.b.CNS)
	if status != http.StatusForbidden {
		t.Fatalf("three self-issued intermediates: %d", status)
	}
	if got := s.counter(t, metric) - before; got != 2 {
		t.Fatalf("%s grew by %v, want 2", metric, got)
	}
	events := s.refusedLogins(t, "chain_too_long", 2)
	if len(events) != 2 || !strings.Contains(string(events[0].Detail)+string(events[1].Detail), "14 intermediate certificates presented, at most 2 accepted") {
		t.Fatalf("audited chain_too_long refusals: %+v", events)
	}
	// The card is named as its certificate names itself (nothing of it was
	// trusted): investigators see which certificate the attack presented.
	wantSerial := hex.EncodeToString(hostile.Cert.SerialNumber.Bytes())
	for _, e := range events {
		if e.RemoteIP == "" || e.CardSerial != wantSerial {
			t.Errorf("audit event %+v: want the client's address and the presented card's serial %s", e, wantSerial)
		}
	}
	if n := len(s.refusedLogins(t, "unknown_issuer", 1)); n != 1 {
		t.Fatalf("the two-intermediate chain audited %d unknown_issuer refusals, want 1", n)
	}

	// The server is none the worse: the CIE card (one intermediate) and a
	// regional card still log in.
	for _, name := range []string{"citizen", "cie"} {
		c, _ := s.setup.Card(name)
		v, resp := cnsLogin(t, s.client(t, loadCard(t, c), nil), s.b.CNS)
		if resp.StatusCode != 200 || v.Verdict != "accepted" {
			t.Fatalf("%s card after the attack: %d %+v", name, resp.StatusCode, v)
		}
	}
}

// TestAttackSignatureBudgetOnCardListener: within trust.max_intermediates
// (4) an attacker can still make the server look for a path: four
// self-issued intermediates named like the trusted CA cost one signature
// check each against the anchor, and the card one more. With
// trust.max_signature_checks at 3 the running server stops after the third
// check and refuses the chain as chain_too_long, on the citizen's page, in
// /metrics and on the audit trail; a regional card (one check) and the CIE
// card (two) still log in under the same budget.
func TestAttackSignatureBudgetOnCardListener(t *testing.T) {
	s := startServer(t, func(y string) string {
		return strings.Replace(y, "trust:\n", "trust:\n  max_signature_checks: 3\n", 1)
	})
	if s.cfg.Trust.MaxSignatureChecks != 3 || s.cfg.Trust.MaxIntermediates != 4 {
		t.Fatalf("trust.max_signature_checks = %d, max_intermediates = %d; want 3 and 4", s.cfg.Trust.MaxSignatureChecks, s.cfg.Trust.MaxIntermediates)
	}
	hostile, err := demoCardCA(t, s).SelfIssuedChain(4, cnstest.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const metric = `cnsgate_login_attempts_total{outcome="failure",reason="chain_too_long"}`
	before := s.counter(t, metric)
	status, body := cnsLoginPage(t, s.presenting(t, hostile.Key, append([]*x509.Certificate{hostile.Cert}, hostile.Chain...)...), s.b.CNS)
	if status != http.StatusForbidden || !strings.Contains(body, "catena di certificati troppo lunga") {
		t.Fatalf("four self-issued intermediates, budget 3: %d\n%s", status, body)
	}
	if got := s.counter(t, metric) - before; got != 1 {
		t.Fatalf("%s grew by %v, want 1", metric, got)
	}
	events := s.refusedLogins(t, "chain_too_long", 1)
	if e := events[0]; !strings.Contains(string(e.Detail), "signature-check budget of 3 spent") || e.RemoteIP == "" ||
		e.CardSerial != hex.EncodeToString(hostile.Cert.SerialNumber.Bytes()) {
		t.Fatalf("audited chain_too_long refusal: %+v", e)
	}
	for _, name := range []string{"citizen", "cie"} {
		c, _ := s.setup.Card(name)
		v, resp := cnsLogin(t, s.client(t, loadCard(t, c), nil), s.b.CNS)
		if resp.StatusCode != 200 || v.Verdict != "accepted" {
			t.Fatalf("%s card under a budget of 3: %d %+v", name, resp.StatusCode, v)
		}
	}
}
