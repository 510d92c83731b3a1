package idptest

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// Browser is a client with a cookie jar that presents a card (or none) to
// the card listener, following redirects as a browser does.
type Browser struct {
	T      *testing.T
	Env    *Env
	Client *http.Client
}

// Browser returns a browser presenting card (nil: none).
func (e *Env) Browser(card *cnstest.Card) *Browser {
	return &Browser{T: e.T, Env: e, Client: &http.Client{Jar: NewJar(), Transport: e.Transport(card), Timeout: 15 * time.Second}}
}

// Transport trusts the test servers and presents card (nil: none).
func (e *Env) Transport(card *cnstest.Card) *http.Transport {
	tc := &tls.Config{RootCAs: e.Roots}
	if card != nil {
		tc.Certificates = []tls.Certificate{card.TLSCertificate()}
	}
	return &http.Transport{TLSClientConfig: tc}
}

// NewJar returns an empty cookie jar.
func NewJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}

// Page is a fetched page.
type Page struct {
	Status int
	Body   string
	URL    *url.URL
}

// Get fetches u.
func (b *Browser) Get(u string) Page {
	b.T.Helper()
	resp, err := b.Client.Get(u)
	if err != nil {
		b.T.Fatalf("GET %s: %v", u, err)
	}
	return ReadPage(b.T, resp)
}

// Post submits form to u with an Origin header (none when origin is "").
func (b *Browser) Post(u string, form url.Values, origin string) Page {
	b.T.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.T.Fatalf("POST %s: %v", u, err)
	}
	return ReadPage(b.T, resp)
}

// ReadPage reads and closes resp.
func ReadPage(t *testing.T, resp *http.Response) Page {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Page{Status: resp.StatusCode, Body: string(body), URL: resp.Request.URL}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// CSRF returns the csrf token of the page's form.
func CSRF(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token in page:\n%s", body)
	}
	return m[1]
}

// Must fails t unless the page has status and holds every text.
func (p Page) Must(t *testing.T, status int, texts ...string) Page {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, want %d\n%s", p.URL, p.Status, status, p.Body)
	}
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("%s: page lacks %q:\n%s", p.URL, s, p.Body)
		}
	}
	return p
}

// Cookie returns the session cookie of the public listener, or nil.
func (b *Browser) Cookie() *http.Cookie {
	u, _ := url.Parse(b.Env.Public.URL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == idp.SessionCookie {
			return c
		}
	}
	return nil
}

// HandoffLink starts a card login at u (a /cns/login or /cns/start URL)
// and follows its redirects, storing cookies, up to the handoff link to
// /cns/complete, which it returns unvisited: where an attacker who logged
// in with their own card stops.
func (b *Browser) HandoffLink(u string) string {
	b.T.Helper()
	c := *b.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for range 5 {
		resp, err := c.Get(u)
		if err != nil {
			b.T.Fatalf("GET %s: %v", u, err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if resp.StatusCode != http.StatusSeeOther || err != nil {
			b.T.Fatalf("GET %s answered %d, not a redirect", u, resp.StatusCode)
		}
		if u = loc.String(); strings.HasPrefix(u, b.Env.Public.URL+"/cns/complete?code=") {
			return u
		}
	}
	b.T.Fatalf("no handoff link after 5 redirects (last %s)", u)
	return ""
}

// Register takes the browser's card through "Registra TS-CNS".
func (b *Browser) Register() {
	b.T.Helper()
	cns := b.Env.CNS.URL
	p := b.Get(cns+"/cns/login").Must(b.T, 200, "Registra TS-CNS")
	b.Post(cns+"/cns/register", url.Values{"csrf": {CSRF(b.T, p.Body)}, "consent": {"yes"}}, cns).
		Must(b.T, 200, "Operazione correttamente eseguita")
}

// Login takes the browser's card through "Login TS-CNS" and returns the
// welcome page.
func (b *Browser) Login() Page {
	b.T.Helper()
	return b.Get(b.Env.CNS.URL+"/cns/login").Must(b.T, 200, "Servizi attivi", "Esci")
}
