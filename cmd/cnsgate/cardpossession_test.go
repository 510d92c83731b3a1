package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The card listener must see the card for every login: a TLS session
// resumed from an earlier handshake (ticket or TLS 1.3 PSK) carries the
// certificate of that handshake without the card being asked to sign, and
// a kept-alive connection carries it to later requests. These tests attack
// a running serve the way a shared PC would: the citizen logs in and out,
// the next person uses the same browser with no card in the reader.

// possessionBrowser is a cookie-keeping browser that follows redirects
// across both origins. Like a real one it keeps TLS sessions per origin:
// the card listener's cache is shared by its two faces (with the card in
// the reader and without it), the public origin has its own.
type possessionBrowser struct {
	withCard, noCard *http.Client
}

// originMux sends each request to the transport of its origin.
type originMux struct {
	cnsHost    string
	cns, other http.RoundTripper
}

func (m originMux) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == m.cnsHost {
		return m.cns.RoundTrip(r)
	}
	return m.other.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach both.
func (m originMux) CloseIdleConnections() {
	for _, rt := range []http.RoundTripper{m.cns, m.other} {
		if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}

func (s *testServer) possessionBrowser(t *testing.T, card *tls.Certificate, maxVersion uint16) *possessionBrowser {
	t.Helper()
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(s.setup.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	jar, _ := cookiejar.New(nil)
	transport := func(cert *tls.Certificate, cache tls.ClientSessionCache) *http.Transport {
		return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: maxVersion,
			ClientSessionCache: cache, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				if cert == nil {
					return &tls.Certificate{}, nil
				}
				return cert, nil
			}}}
	}
	cnsCache, public := tls.NewLRUClientSessionCache(8), transport(nil, tls.NewLRUClientSessionCache(8))
	mk := func(cert *tls.Certificate) *http.Client {
		return &http.Client{Jar: jar, Timeout: 10 * time.Second,
			Transport: originMux{cnsHost: s.b.CNS, cns: transport(cert, cnsCache), other: public}}
	}
	return &possessionBrowser{withCard: mk(card), noCard: mk(nil)}
}

// cardLogin is "Accedi con TS/CNS" begun on the card listener, followed
// through to the welcome page of the public origin.
func (b *possessionBrowser) cardLogin(t *testing.T, s *testServer) page {
	t.Helper()
	return fetch(t, b.withCard, "GET", "https://"+s.b.CNS+"/cns/login", nil, "")
}

// metric reads one sample of the admin listener's /metrics (0 when absent).
func (s *testServer) metric(t *testing.T, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.b.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", sample, err)
			}
			return f
		}
	}
	return 0
}

// auditEvents reads back the audit trail of the server's registry with
// `cnsgate audit query`, as an investigator would.
func (s *testServer) auditEvents(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	var out, errb strings.Builder
	if code := run(context.Background(), append([]string{"audit", "query", "--config", s.setup.ConfigFile}, args...), &out, &errb); code != 0 {
		t.Fatalf("audit query: exit %d: %s", code, errb.String())
	}
	var events []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		events = append(events, e)
	}
	return events
}

// waitAudit waits, up to a deadline, for n audit events matching args.
func (s *testServer) waitAudit(t *testing.T, n int, args ...string) []map[string]any {
	t.Helper()
	var events []map[string]any
	waitFor(t, fmt.Sprintf("%d audit events %v", n, args), 10*time.Second, func() bool {
		events = s.auditEvents(t, args...)
		return len(events) >= n
	})
	return events
}

const noCardSample = `cnsgate_login_attempts_total{outcome="failure",reason="no_certificate"}`

// TestAttackResumedSessionAfterLogout: the citizen logs in with the card,
// "Esci", and the browser reconnects to the card listener offering its
// TLS session without any certificate. The handshake must be a full one
// and the login refused as "no card", audited and counted.
func TestAttackResumedSessionAfterLogout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint16
		edit    func(string) string
	}{
		{"tls1.2-ticket", tls.VersionTLS12, nil},
		{"tls1.3-psk", tls.VersionTLS13, func(y string) string {
			return strings.Replace(y, "tls:\n", "tls:\n  cns_max_version: \"1.3\"\n", 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.edit)
			card := s.setup.Cards[0]
			b := s.possessionBrowser(t, loadCard(t, card), tc.version)

			welcome := b.cardLogin(t, s)
			mustContain(t, welcome, card.FiscalCode, "Esci")
			out := fetch(t, b.withCard, "POST", s.cfg.Issuer+"/logout", url.Values{"csrf": {field(t, csrfFieldRE, welcome)}}, s.cfg.Issuer)
			mustContain(t, out, "rimuovi la tessera")
			b.withCard.CloseIdleConnections()
			b.noCard.CloseIdleConnections()

			before := s.metric(t, noCardSample)
			resp, err := b.noCard.Get("https://" + s.b.CNS + "/cns/login")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "non ha presentato alcun certificato") {
				t.Fatalf("login without the card after Esci: %d at %s (resumed %v)\n%s", resp.StatusCode, resp.Request.URL, resp.TLS.DidResume, body)
			}
			if resp.TLS.DidResume {
				t.Fatal("the card listener resumed a TLS session: the card was not asked to sign")
			}
			if resp.TLS.Version != tc.version {
				t.Fatalf("negotiated %x, want %x", resp.TLS.Version, tc.version)
			}
			if got := s.metric(t, noCardSample); got != before+1 {
				t.Fatalf("%s = %v, want %v", noCardSample, got, before+1)
			}
			ev := s.waitAudit(t, 1, "--kind", "login", "--outcome", "failure")
			if ev[0]["reason"] != "no_certificate" || ev[0]["fiscal_code"] != nil {
				t.Fatalf("audit event of the refused login: %+v", ev[0])
			}
			// Nothing but the first, real login succeeded.
			if ev := s.auditEvents(t, "--kind", "login", "--outcome", "success"); len(ev) != 1 {
				t.Fatalf("%d successful logins audited, want 1: %+v", len(ev), ev)
			}
		})
	}
}

// TestAttackResumptionControlOnPublicListener shows the attack client does
// offer resumption: the public listener (no card there) resumes, so the
// full handshakes above are the card listener's doing.
func TestAttackResumptionControlOnPublicListener(t *testing.T) {
	s := startServer(t, nil)
	b := s.possessionBrowser(t, nil, tls.VersionTLS13)
	resumed := false
	for i := 0; i < 3 && !resumed; i++ {
		resp, err := b.noCard.Get(s.cfg.Issuer + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		b.noCard.CloseIdleConnections()
		resumed = resp.TLS.DidResume
	}
	if !resumed {
		t.Fatal("the client never resumed on the public listener; the attack tests would prove nothing")
	}
}

// TestAttackKeptAliveCardConnection sends two requests over one TLS
// connection to the card listener: the server answers the first with
// Connection: close and closes, so a second login needs a new handshake.
func TestAttackKeptAliveCardConnection(t *testing.T) {
	s := startServer(t, nil)
	card := loadCard(t, s.setup.Cards[0])
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(s.setup.TLSCAFile)
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", s.b.CNS, &tls.Config{RootCAs: pool, ServerName: "localhost", Certificates: []tls.Certificate{*card}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	// The raw bytes are kept: net/http's reader drops "Connection: close"
	// from the parsed header once it has set resp.Close.
	var raw strings.Builder
	br := bufio.NewReader(io.TeeReader(conn, &raw))
	get := func() (*http.Response, error) {
		if _, err := fmt.Fprintf(conn, "GET /cns/check HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n\r\n", s.b.CNS); err != nil {
			return nil, err
		}
		return http.ReadResponse(br, nil)
	}
	resp, err := get()
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	head, _, _ := strings.Cut(raw.String(), "\r\n\r\n")
	if resp.StatusCode != http.StatusOK || !resp.Close || !strings.Contains(head, "\r\nConnection: close") {
		t.Fatalf("first request: %d, close=%v\n%s", resp.StatusCode, resp.Close, head)
	}
	if resp, err := get(); err == nil {
		resp.Body.Close()
		t.Fatalf("a second request went through the kept-alive connection: %d", resp.StatusCode)
	}
	if n := s.metric(t, `cnsgate_http_request_duration_seconds_count{code="200",route="GET /cns/check"}`); n != 1 {
		t.Fatalf("card listener answered %v requests, want 1 (only the first)", n)
	}
}

// TestAttackOpenSSLSessionReuse tries to resume with the real openssl
// s_client: -sess_out after a handshake with the card, -sess_in without
// it. The server must offer nothing to resume, start a new session and
// refuse the login.
func TestAttackOpenSSLSessionReuse(t *testing.T) {
	openssl := requireTool(t, "openssl", "openssl")
	s := startServer(t, nil)
	card := s.setup.Cards[0]
	sess := filepath.Join(t.TempDir(), "tls.sess")
	// /cns/check judges the card of the request's own connection (the
	// audited, counted refusal of /cns/login is TestAttackResumedSessionAfterLogout's).
	req := "GET /cns/check HTTP/1.1\r\nHost: " + s.b.CNS + "\r\nAccept: application/json\r\n\r\n"
	sClient := func(extra ...string) string {
		t.Helper()
		args := append([]string{"s_client", "-connect", s.b.CNS, "-servername", "localhost", "-CAfile", s.setup.TLSCAFile,
			"-tls1_2", "-ign_eof"}, extra...)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, openssl, args...)
		cmd.Stdin = strings.NewReader(req)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	first := sClient("-cert", card.ChainFile, "-key", card.KeyFile, "-sess_out", sess)
	if !strings.Contains(first, `"verdict":"accepted"`) {
		t.Fatalf("login with the card:\n%s", first)
	}
	// The server offered nothing to resume: no ticket and no session id,
	// so openssl has no session to write. Were there one, -sess_in offers it.
	if strings.Contains(first, "TLS session ticket") || !regexp.MustCompile(`(?m)^\s*Session-ID: *$`).MatchString(first) {
		t.Fatalf("the card listener offered a resumable session:\n%s", first)
	}
	resume := []string{"-sess_in", sess}
	if _, err := os.Stat(sess); err != nil {
		t.Logf("openssl wrote no session file (nothing resumable): %v", err)
		resume = nil
	}
	second := sClient(resume...)
	if strings.Contains(second, "Reused,") || !regexp.MustCompile(`(?m)^New, `).MatchString(second) {
		t.Fatalf("openssl resumed the session on the card listener:\n%s", second)
	}
	if !strings.Contains(second, "HTTP/1.1 403 Forbidden") || !strings.Contains(second, `"reason":"no_certificate"`) {
		t.Fatalf("without the card:\n%s", second)
	}
	if n := s.metric(t, `cnsgate_http_request_duration_seconds_count{code="403",route="GET /cns/check"}`); n != 1 {
		t.Fatalf("403 answers of /cns/check: %v, want 1", n)
	}
}

var confirmActionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// TestLoginConfirmIdentity runs serve with login.confirm_identity: a valid
// card first sees "Stai per accedere come Mario Rossi" with the masked
// fiscal code; "Continua" completes the login, "Non sono io" ends it with
// the advice to remove the card, and a forged form is refused. Each is
// audited.
func TestLoginConfirmIdentity(t *testing.T) {
	s := startServer(t, func(y string) string { return y + "login:\n  confirm_identity: true\n" })
	card := s.setup.Cards[0]
	b := s.possessionBrowser(t, loadCard(t, card), tls.VersionTLS12)
	login := "https://" + s.b.CNS + "/cns/login"
	masked := card.FiscalCode[:3] + strings.Repeat("*", 12) + card.FiscalCode[15:]

	ask := fetch(t, b.withCard, "GET", login, nil, "")
	mustContain(t, ask, "Stai per accedere come", "<strong>Mario</strong> <strong>Rossi</strong>", masked, "Continua", "Non sono io")
	if strings.Contains(ask.body, card.FiscalCode) {
		t.Fatal("the confirmation page shows the full fiscal code")
	}
	if n := s.metric(t, `cnsgate_login_attempts_total{outcome="success",reason="none"}`); n != 0 {
		t.Fatalf("a login counted before Continua: %v", n)
	}
	done := fetch(t, b.withCard, "POST", field(t, confirmActionRE, ask), url.Values{"csrf": {field(t, csrfFieldRE, ask)}, "choice": {"continue"}}, s.cfg.CNSOrigin)
	if done.url.Host == s.b.CNS {
		t.Fatalf("Continua stayed on the card listener: %s (%d)\n%s", done.url, done.code, done.body)
	}
	mustContain(t, done, card.FiscalCode, "Esci")
	s.waitAudit(t, 1, "--kind", "login", "--outcome", "success")

	ask = fetch(t, b.withCard, "GET", login, nil, "")
	notMe := fetch(t, b.withCard, "POST", field(t, confirmActionRE, ask), url.Values{"csrf": {field(t, csrfFieldRE, ask)}, "choice": {"notme"}}, s.cfg.CNSOrigin)
	mustContain(t, notMe, "Accesso annullato", "Rimuovi la tessera dal lettore")
	forged := fetch(t, b.withCard, "POST", field(t, confirmActionRE, ask), url.Values{"csrf": {"forged-token-forged-token"}, "choice": {"continue"}}, s.cfg.CNSOrigin)
	if forged.code != http.StatusForbidden {
		t.Fatalf("forged confirmation: %d", forged.code)
	}
	ev := s.waitAudit(t, 2, "--kind", "login", "--outcome", "failure")
	details := map[string]bool{}
	for _, e := range ev {
		m, _ := e["detail"].(map[string]any)
		d, _ := m["detail"].(string)
		details[d] = e["fiscal_code"] == card.FiscalCode
	}
	for _, want := range []string{"identity not confirmed (Non sono io)", "missing, forged or expired confirmation token"} {
		if !details[want] {
			t.Fatalf("no audited failure %q for the card: %+v", want, ev)
		}
	}
	if n := s.metric(t, `cnsgate_login_attempts_total{outcome="success",reason="none"}`); n != 1 {
		t.Fatalf("successful logins %v, want 1 (only Continua)", n)
	}
}
