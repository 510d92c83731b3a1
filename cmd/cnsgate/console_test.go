package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

// cookieRecorder keeps the Set-Cookie headers a client receives.
type cookieRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	set  []string
}

func (c *cookieRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.set = append(c.set, resp.Header.Values("Set-Cookie")...)
		c.mu.Unlock()
	}
	return resp, err
}

func (c *cookieRecorder) find(prefix string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.set {
		if strings.HasPrefix(s, prefix) {
			return s
		}
	}
	return ""
}

var (
	endSessionRE  = regexp.MustCompile(`name="session" value="([0-9a-f]+)"`)
	consoleCSRFRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// consoleLogin takes a browser with card through the console's login: the
// console's /login, cnsgate's /authorize and card login, back to the
// console's /callback; it returns the last page.
func consoleLogin(t *testing.T, s *testServer, origin string, b *http.Client) page {
	t.Helper()
	gate := fetch(t, b, "GET", origin+"/login", nil, "")
	return fetch(t, b, "GET", field(t, hrefLoginRE, gate), nil, "")
}

// TestConsole drives the security team's console of a running server: a
// citizen and an operator without the role security are refused by the
// card login with a clear page; an operator holding it logs in with the
// operator card (its own __Host- cookie, Secure, HttpOnly,
// SameSite=Strict), sees the charts (inline SVG with a data table) in
// Italian and English, the CRLs' state, searches the audit trail and
// exports it as CSV, and ends a citizen's session: the relying party gets
// its back-channel logout token. A form without the CSRF token is refused;
// every action is on the audit trail with the operator's fiscal code.
func TestConsole(t *testing.T) {
	logoutTokens := make(chan string, 4)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logoutTokens <- r.PostFormValue("logout_token")
	}))
	defer rp.Close()
	consoleAddr := freeAddr(t)
	origin := "https://" + consoleAddr
	s := startServer(t, func(y string) string {
		y = strings.Replace(y, "listen:\n", "listen:\n  console: \""+consoleAddr+"\"\n", 1)
		return y + oidcConfig(t, rp.URL+"/backchannel") + "console:\n  origin: " + origin + "\nlogin:\n  confirm_release: false\n"
	})
	citizen, _ := s.setup.Card("citizen")
	operator, _ := s.setup.Card("operator")
	s.oidcLogin(t, s.rpBrowser(t, citizen), "openid") // a live session at esenzioni

	p := consoleLogin(t, s, origin, s.rpBrowser(t, citizen))
	if p.code != http.StatusForbidden || !strings.Contains(p.body, "Accesso non consentito") || !strings.Contains(p.body, "riservato agli operatori") {
		t.Fatalf("a citizen at the console: %d %s\n%s", p.code, p.url, p.body)
	}
	p = consoleLogin(t, s, origin, s.rpBrowser(t, operator))
	if p.code != http.StatusForbidden || !strings.Contains(p.body, "richiede un ruolo da operatore") {
		t.Fatalf("an operator without the role security: %d %s\n%s", p.code, p.url, p.body)
	}
	grantSecurity(t, s, operator)

	b := s.rpBrowser(t, operator)
	rec := &cookieRecorder{next: b.Transport}
	b.Transport = rec
	p = consoleLogin(t, s, origin, b)
	if p.code != http.StatusOK || p.url.Host != consoleAddr {
		t.Fatalf("operator login: %d %s\n%s\n%s", p.code, p.url, p.body, grepLines(strings.Join(s.logs.Lines(), "\n"), "console"))
	}
	if ck := rec.find(idp.ConsoleCookie + "="); !strings.Contains(ck, "Secure") || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") {
		t.Errorf("console cookie %q", ck)
	}
	checkConsolePages(t, b, origin, citizen.FiscalCode)
	endCitizenSession(t, s, b, origin, citizen.FiscalCode, logoutTokens)

	acts := auditEvents(t, s, idp.KindConsoleAction, operator.FiscalCode, 7) // the refusals are the login service's (access_denied)
	var got []string
	for _, e := range acts {
		got = append(got, e.Reason+"/"+string(e.Outcome))
	}
	want := "end_session/success csrf/failure citizen/success export/success search/failure search/success login/success"
	if strings.Join(got, " ") != want {
		t.Errorf("console actions audited: %s\nwant %s", strings.Join(got, " "), want)
	}
	ends := auditEvents(t, s, registry.KindSessionEnd, citizen.FiscalCode, 1) // the session picked, not the card's other one (the refused console login's)
	if !strings.Contains(string(ends[0].Detail), `"cause":"admin"`) {
		t.Errorf("the session's end: %s", ends[0].Detail)
	}
}

// grantSecurity gives the demo operator the role security.
func grantSecurity(t *testing.T, s *testServer, operator demo.Card) {
	t.Helper()
	reg, err := sqlstore.Open(context.Background(), string(s.cfg.Registry.Driver), s.cfg.Registry.DSN.Value())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := reg.PutOperator(context.Background(), registry.Operator{FiscalCode: operator.FiscalCode,
		Roles: []string{demo.DemoOperatorRole, "security"}, Organisation: demo.DemoOrganisationID, OrganisationName: demo.DemoOrganisationName}); err != nil {
		t.Fatal(err)
	}
}

func checkConsolePages(t *testing.T, b *http.Client, origin, cf string) {
	t.Helper()
	p := fetch(t, b, "GET", origin+"/", nil, "")
	if p.code != 200 || strings.Count(p.body, `<svg role="img"`) != 5 || !strings.Contains(p.body, "Accessi nelle ultime 24 ore per esito") ||
		!strings.Contains(p.body, `id="c24o-data"`) || !strings.Contains(p.body, "<th scope=\"row\">riuscito</th>") || strings.Contains(p.body, "<script") {
		t.Fatalf("dashboard: %d, %d charts\n%s", p.code, strings.Count(p.body, `<svg role="img"`), p.body[strings.Index(p.body, "<main"):])
	}
	if p := fetch(t, b, "GET", origin+"/?lang=en", nil, ""); !strings.Contains(p.body, "Logins in the last 24 hours by outcome") || !strings.Contains(p.body, `<html lang="en">`) {
		t.Errorf("dashboard in English:\n%s", p.body)
	}
	if p := fetch(t, b, "GET", origin+"/revocation", nil, ""); p.code != 200 || !strings.Contains(p.body, "Regione Demo - CA Cittadini") {
		t.Errorf("revocation page: %d\n%s", p.code, p.body)
	}
	p = fetch(t, b, "GET", origin+"/audit?kind=login&fiscal_code="+cf, nil, "")
	if p.code != 200 || !strings.Contains(p.body, "2 eventi trovati") || !strings.Contains(p.body, "/citizen?fiscal_code="+cf) {
		t.Errorf("audit search: %d\n%s", p.code, p.body)
	}
	if p := fetch(t, b, "GET", origin+"/audit?outcome=maybe", nil, ""); p.code != 400 || !strings.Contains(p.body, "Filtro non valido: outcome") {
		t.Errorf("a bad filter: %d\n%s", p.code, p.body)
	}
	resp, err := b.Get(origin + "/audit.csv?kind=login&since=1h")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Errorf("CSV export: %d %v", resp.StatusCode, resp.Header)
	}
}

func endCitizenSession(t *testing.T, s *testServer, b *http.Client, origin, cf string, logoutTokens chan string) {
	t.Helper()
	p := fetch(t, b, "GET", origin+"/citizen?fiscal_code="+cf, nil, "")
	hash, csrf := field(t, endSessionRE, p), field(t, consoleCSRFRE, p)
	if !strings.Contains(p.body, "esenzioni") {
		t.Fatalf("citizen page:\n%s", p.body)
	}
	before := len(endSessionRE.FindAllStringSubmatch(p.body, -1))
	form := url.Values{"fiscal_code": {cf}, "session": {hash}}
	if p := fetch(t, b, "POST", origin+"/citizen/end-session", form, origin); p.code != http.StatusForbidden {
		t.Fatalf("end session without the CSRF token: %d", p.code)
	}
	form.Set("csrf", csrf)
	p = fetch(t, b, "POST", origin+"/citizen/end-session", form, origin)
	if p.code != 200 || !strings.Contains(p.body, "Sessione terminata") {
		t.Fatalf("end session: %d\n%s", p.code, grepLines(strings.Join(s.logs.Lines(), "\n"), "level=ERROR"))
	}
	// Exactly the session picked ends; the citizen's others stay.
	after := len(endSessionRE.FindAllStringSubmatch(p.body, -1))
	if strings.Contains(p.body, `value="`+hash+`"`) || after != before-1 || (after == 0) != strings.Contains(p.body, "Nessuna sessione attiva") {
		t.Fatalf("after ending session %s: %d of %d sessions listed\n%s", hash, after, before, p.body)
	}
	t.Logf("the citizen had %d live sessions; %d left after ending one", before, after)
	select {
	case lt := <-logoutTokens:
		if strings.Count(lt, ".") != 2 {
			t.Fatalf("logout token %q", lt)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the relying party got no back-channel logout token")
	}
}
