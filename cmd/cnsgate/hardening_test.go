package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

// recorder keeps every response a client received, redirects included.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []*http.Response
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.seen = append(r.seen, resp)
		r.mu.Unlock()
	}
	return resp, err
}

// browser returns a client with a cookie jar of its own, presenting the
// demo card named card ("" for none), recording its responses.
func (s *testServer) browser(t *testing.T, card string) (*http.Client, *recorder) {
	t.Helper()
	var c *http.Client
	if card == "" {
		c = s.client(t, nil, nil)
	} else {
		dc, ok := s.setup.Card(card)
		if !ok {
			t.Fatalf("no demo card %q", card)
		}
		c = s.client(t, loadCard(t, dc), nil)
	}
	rec := &recorder{next: c.Transport}
	c.Transport = rec
	c.Jar, _ = cookiejar.New(nil)
	return c, rec
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeBrowserHardening, against a running gateway: every answer of
// the public and card listeners carries HSTS (one year by default), the
// session cookie is a browser-session cookie (no Expires, no Max-Age), and
// a handoff link opened by another browser is refused (handoff_mismatch),
// audited and counted on /metrics, while the browser that started the
// login completes.
func TestServeBrowserHardening(t *testing.T) {
	s := startServer(t, nil)
	c, rec := s.browser(t, "citizen")
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.Contains(req.URL.Path, "/cns/complete") {
			return http.ErrUseLastResponse // the attacker stops here
		}
		return nil
	}
	resp, err := c.Get(s.cfg.CNSOrigin + "/cns/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	link := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(link, s.cfg.Issuer+"/cns/complete?code=") {
		t.Fatalf("card login answered %d %q", resp.StatusCode, link)
	}

	victim, _ := s.browser(t, "")
	if code, body := get(t, victim, link); code != http.StatusForbidden || !strings.Contains(body, "browser diverso") {
		t.Fatalf("victim's browser: %d\n%s", code, body)
	}
	for _, ck := range victim.Jar.Cookies(resp.Request.URL) {
		if ck.Name == idp.SessionCookie {
			t.Fatal("the victim's browser got the attacker's session cookie")
		}
	}

	c.CheckRedirect = nil
	if code, body := get(t, c, link); code != 200 || !strings.Contains(body, "Servizi attivi") {
		t.Fatalf("the browser that started the login: %d\n%s", code, body)
	}

	hosts := map[string]bool{}
	var sessionCookie string
	for _, r := range rec.seen {
		hosts[r.Request.URL.Host] = true
		if got := r.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("%s %s: Strict-Transport-Security %q", r.Request.Method, r.Request.URL, got)
		}
		for _, sc := range r.Header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, idp.SessionCookie+"=") {
				sessionCookie = sc
			}
		}
	}
	if len(hosts) != 2 {
		t.Fatalf("responses seen from %v, want the public and the card listener", hosts)
	}
	lower := strings.ToLower(sessionCookie)
	if sessionCookie == "" || strings.Contains(lower, "expires=") || strings.Contains(lower, "max-age=") ||
		!strings.Contains(lower, "secure") || !strings.Contains(lower, "httponly") {
		t.Fatalf("session cookie %q: want Secure, HttpOnly, no Expires, no Max-Age", sessionCookie)
	}

	_, metrics := get(t, http.DefaultClient, "http://"+s.b.Admin+"/metrics")
	if want := `cnsgate_login_attempts_total{outcome="failure",reason="handoff_mismatch"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	ctx := context.Background()
	reg, err := sqlstore.Open(ctx, string(s.cfg.Registry.Driver), s.cfg.Registry.DSN.Value())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, err := reg.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindLogin, Outcome: registry.OutcomeFailure, FiscalCode: "RSSMRA85T10A562S"})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 1 && events[0].Reason == "handoff_mismatch" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit: %+v", events)
		}
		time.Sleep(20 * time.Millisecond) // polling the condition
	}
}

// TestServeHSTSConfigurable: tls.hsts_max_age and hsts_include_subdomains
// shape the header; 0 sends none.
func TestServeHSTSConfigurable(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"  hsts_max_age: 1h\n  hsts_include_subdomains: true\n", "max-age=3600; includeSubDomains"},
		{"  hsts_max_age: 0s\n", ""},
	} {
		s := startServer(t, func(y string) string { return strings.Replace(y, "tls:\n", "tls:\n"+tc.yaml, 1) })
		c, _ := s.browser(t, "")
		for _, u := range []string{s.cfg.Issuer + "/", s.cfg.CNSOrigin + "/cns/check"} {
			resp, err := c.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Strict-Transport-Security"); got != tc.want {
				t.Errorf("%s: Strict-Transport-Security %q, want %q", u, got, tc.want)
			}
		}
	}
}
