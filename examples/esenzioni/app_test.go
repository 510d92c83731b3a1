package esenzioni

import (
	"github.com/cnsgate/cnsgate/examples/internal/webpage"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browser is a cookie-keeping client of the relying party and the fake
// provider (both use httptest's certificate).
type browser struct {
	c  *http.Client
	rp *httptest.Server
}

type fetched struct {
	url  *url.URL
	code int
	body string
	loc  string
}

func newBrowser(t *testing.T, rp *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	// A copy: rp.Client() is one client shared by every caller.
	c := *rp.Client()
	c.Jar = jar
	c.Timeout = 10 * time.Second
	return &browser{c: &c, rp: rp}
}

func (b *browser) do(t *testing.T, req *http.Request) fetched {
	t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fetched{url: resp.Request.URL, code: resp.StatusCode, body: string(body), loc: resp.Header.Get("Location")}
}

func (b *browser) get(t *testing.T, u string) fetched {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(t, req)
}

func (b *browser) post(t *testing.T, u string, form url.Values) fetched {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(t, req)
}

// stopAt makes the browser stop before following a redirect whose URL
// starts with prefix.
func (b *browser) stopAt(prefix string) {
	b.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), prefix) {
			return http.ErrUseLastResponse
		}
		return nil
	}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestLoginShowsCitizenAndExemptions(t *testing.T) {
	op := newFakeOP(t)
	_, rp := newTestApp(t, op)
	b := newBrowser(t, rp)
	home := b.get(t, rp.URL+"/")
	if !strings.Contains(home.body, "Accedi con TS/CNS") || !strings.Contains(home.body, `lang="it"`) {
		t.Fatalf("home page:\n%s", home.body)
	}
	p := b.get(t, rp.URL+"/login")
	if p.url.String() != rp.URL+"/" || p.code != http.StatusOK {
		t.Fatalf("login ended at %s (%d)", p.url, p.code)
	}
	for _, want := range []string{testCF, "Anna Verdi", "E01", "E02", "E03", "E04", "36.151,98", "Dati dimostrativi", "Attiva fino al", "Esci"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	if strings.Count(p.body, "Attiva fino al") != 1 {
		t.Errorf("want exactly one active exemption")
	}
}

func TestLoginRefusals(t *testing.T) {
	tests := []struct {
		name string
		edit func(map[string]any)
	}{
		{"fail/nonce", func(c map[string]any) { c["nonce"] = "another" }},
		{"fail/audience", func(c map[string]any) { c["aud"] = "cms" }},
		{"fail/expired", func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }},
		{"fail/no-fiscal-number", func(c map[string]any) { delete(c, "fiscal_number") }},
		{"fail/no-sid", func(c map[string]any) { delete(c, "sid") }},
		{"fail/at-hash", func(c map[string]any) { c["at_hash"] = "bm90LXRoZS1hY2Nlc3MtdG9rZW4" }},
		{"fail/azp", func(c map[string]any) { c["azp"] = "cms" }},
		{"fail/issuer", func(c map[string]any) { c["iss"] = "https://elsewhere.example" }},
		{"fail/iat-in-future", func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newFakeOP(t)
			op.idTokenEdit = tc.edit
			_, rp := newTestApp(t, op)
			b := newBrowser(t, rp)
			p := b.get(t, rp.URL+"/login")
			if p.code < 400 || !strings.Contains(p.body, "Accesso non riuscito") {
				t.Fatalf("accepted: %d\n%s", p.code, p.body)
			}
			if strings.Contains(b.get(t, rp.URL+"/").body, testCF) {
				t.Fatal("a session was opened")
			}
		})
	}
}

// TestCallbackChecks: the callback needs the login cookie, the state it
// holds, and works once.
func TestCallbackChecks(t *testing.T) {
	op := newFakeOP(t)
	_, rp := newTestApp(t, op)

	b := newBrowser(t, rp)
	b.stopAt(rp.URL + "/callback")
	cb := b.get(t, rp.URL+"/login").loc
	if !strings.HasPrefix(cb, rp.URL+"/callback?") {
		t.Fatalf("provider redirected to %q", cb)
	}
	u, _ := url.Parse(cb)
	q := u.Query()
	q.Set("state", "forged")
	if p := b.get(t, rp.URL+"/callback?"+q.Encode()); p.code != http.StatusBadRequest {
		t.Fatalf("forged state: %d", p.code)
	}
	// The pending login is spent even by a refused callback.
	if p := b.get(t, cb); p.code != http.StatusBadRequest {
		t.Fatalf("callback after a refused one: %d", p.code)
	}

	b = newBrowser(t, rp)
	b.stopAt(rp.URL + "/callback")
	cb = b.get(t, rp.URL+"/login").loc
	b.stopAt("never")
	if p := b.get(t, cb); !strings.Contains(p.body, testCF) {
		t.Fatalf("callback: %d\n%s", p.code, p.body)
	}
	if p := b.get(t, cb); p.code != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d", p.code)
	}

	// Without the login cookie (another browser), nothing happens.
	other := newBrowser(t, rp)
	other.stopAt(rp.URL + "/callback")
	cb = other.get(t, rp.URL+"/login").loc
	if p := newBrowser(t, rp).get(t, cb); p.code != http.StatusBadRequest {
		t.Fatalf("callback in another browser: %d", p.code)
	}
}

// TestLogoutGoesToEndSession: "Esci" ends the local session and sends the
// browser to the provider's end_session_endpoint with the ID token, the
// post-logout redirect and a state; the logged-out page wants that state,
// in this browser, once.
func TestLogoutGoesToEndSession(t *testing.T) {
	op := newFakeOP(t)
	_, rp := newTestApp(t, op)
	b := newBrowser(t, rp)
	account := b.get(t, rp.URL+"/login")
	m := csrfRE.FindStringSubmatch(account.body)
	if m == nil {
		t.Fatalf("no logout form:\n%s", account.body)
	}
	b.stopAt(op.srv.URL)
	if p := b.post(t, rp.URL+"/logout", url.Values{"csrf": {"forged"}}); p.code != http.StatusForbidden {
		t.Fatalf("forged form token: %d", p.code)
	}
	p := b.post(t, rp.URL+"/logout", url.Values{"csrf": {m[1]}})
	loc, err := url.Parse(p.loc)
	if err != nil || p.code != http.StatusSeeOther || loc.Scheme+"://"+loc.Host+loc.Path != op.srv.URL+"/logout" {
		t.Fatalf("Esci: %d to %q", p.code, p.loc)
	}
	q := loc.Query()
	if strings.Count(q.Get("id_token_hint"), ".") != 2 || q.Get("post_logout_redirect_uri") != rp.URL+"/logged-out" ||
		q.Get("client_id") != testClientID || len(q.Get("state")) < 43 {
		t.Fatalf("end_session parameters: %v", q)
	}
	if strings.Contains(b.get(t, rp.URL+"/").body, testCF) {
		t.Fatal("local session survived Esci")
	}
	// The provider sends the browser back with the state: a forged one,
	// or the right one in another browser, gets the home page.
	for name, c := range map[string]*browser{"forged state": b, "other browser": newBrowser(t, rp)} {
		st := q.Get("state")
		if name == "forged state" {
			st = "forged"
		}
		if out := c.get(t, rp.URL+"/logged-out?state="+url.QueryEscape(st)); out.url.Path != "/" || !strings.Contains(out.body, "Accedi con TS/CNS") {
			t.Fatalf("%s: ended at %s\n%s", name, out.url, out.body)
		}
	}
	back := rp.URL + "/logged-out?state=" + url.QueryEscape(q.Get("state"))
	if out := b.get(t, back); out.url.Path != "/logged-out" || !strings.Contains(out.body, "rimuovi la tessera") {
		t.Fatalf("logged-out page at %s:\n%s", out.url, out.body)
	}
	if again := b.get(t, back); again.url.Path != "/" {
		t.Fatalf("the logout state worked twice: %s", again.url)
	}
}

func TestDisplayName(t *testing.T) {
	for in, want := range map[string]string{"ANNA": "Anna", "D'ANGELO MARIA": "D'Angelo Maria", "de-luca": "De-Luca", "": ""} {
		if got := webpage.DisplayName(in); got != want {
			t.Errorf("webpage.DisplayName(%q) = %q, want %q", in, got, want)
		}
	}
}
