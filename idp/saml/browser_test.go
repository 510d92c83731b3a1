package saml

import (
	"crypto/tls"
	"html"
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

// browser is a client with a cookie jar that presents card (or none) to
// the card listener and follows redirects.
type browser struct {
	h *harness
	c *http.Client
}

func (h *harness) browser(card *cnstest.Card) *browser {
	jar, _ := cookiejar.New(nil)
	tc := &tls.Config{RootCAs: h.roots}
	if card != nil {
		tc.Certificates = []tls.Certificate{card.TLSCertificate()}
	}
	return &browser{h: h, c: &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 15 * time.Second}}
}

// page is a fetched page.
type page struct {
	status int
	body   string
	url    *url.URL
}

func (b *browser) get(u string) page {
	b.h.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.h.t.Fatalf("GET %s: %v", u, err)
	}
	return readPage(b.h.t, resp)
}

// post submits form as a browser does; a page that re-posts a SAML
// message to the identity provider (see needsRepost) is submitted too.
func (b *browser) post(u string, form url.Values, origin string) page {
	b.h.t.Helper()
	p := b.postOnce(u, form, origin)
	if action, fields, ok := p.repost(b.h.t); ok {
		p = b.postOnce(action, fields, b.h.public.URL)
	}
	return p
}

func (b *browser) postOnce(u string, form url.Values, origin string) page {
	b.h.t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatalf("POST %s: %v", u, err)
	}
	return readPage(b.h.t, resp)
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, body: string(body), url: resp.Request.URL}
}

func (p page) must(t *testing.T, status int, texts ...string) page {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", p.url, p.status, status, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("%s: page lacks %q:\n%s", p.url, s, p.body)
		}
	}
	return p
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	formRE   = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	loginRE  = regexp.MustCompile(`href="([^"]+/cns/login[^"]*)"`)
)

func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf token in page:\n%s", p.body)
	}
	return m[1]
}

// form reads an auto-posting SAML form: its action and fields.
func (p page) form(t *testing.T) (string, url.Values) {
	t.Helper()
	m := formRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s: no SAML form in page (status %d):\n%s", p.url, p.status, p.body)
	}
	vals := url.Values{}
	for _, f := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		vals.Set(f[1], html.UnescapeString(f[2]))
	}
	return html.UnescapeString(m[1]), vals
}

// repost reads the page by which the identity provider posts a SAML
// message again to itself.
func (p page) repost(t *testing.T) (string, url.Values, bool) {
	t.Helper()
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="`+repostMarker+`"`) {
		return "", nil, false
	}
	action, fields := p.form(t)
	return action, fields, true
}

// cardLogin takes the browser from the "Accedi con TS/CNS" page through
// the card listener and back; it returns the page the login resumes to.
func (b *browser) cardLogin(loginPage page) page {
	t := b.h.t
	t.Helper()
	loginPage.must(t, 200, "Accedi con TS/CNS")
	m := loginRE.FindStringSubmatch(loginPage.body)
	if m == nil {
		t.Fatalf("no card login link:\n%s", loginPage.body)
	}
	return b.get(html.UnescapeString(m[1]))
}

func (b *browser) cookie() *http.Cookie {
	u, _ := url.Parse(b.h.public.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == idp.SessionCookie {
			return c
		}
	}
	return nil
}
