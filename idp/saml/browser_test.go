package saml

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp/idptest"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// browser is a client with a cookie jar that presents card (or none) to
// the card listener and follows redirects.
type browser struct {
	h  *harness
	c  *http.Client
	br *idptest.Browser
}

func (h *harness) browser(card *cnstest.Card) *browser {
	br := h.env.Browser(card)
	return &browser{h: h, c: br.Client, br: br}
}

// page is a fetched page.
type page struct {
	status int
	body   string
	url    *url.URL
}

func fromPage(p idptest.Page) page { return page{status: p.Status, body: p.Body, url: p.URL} }

func (b *browser) get(u string) page { b.h.t.Helper(); return fromPage(b.br.Get(u)) }

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
	return fromPage(b.br.Post(u, form, origin))
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	return fromPage(idptest.ReadPage(t, resp))
}

func (p page) must(t *testing.T, status int, texts ...string) page {
	t.Helper()
	idptest.Page{Status: p.status, Body: p.body, URL: p.url}.Must(t, status, texts...)
	return p
}

var (
	formRE   = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	loginRE  = regexp.MustCompile(`href="([^"]+/cns/login[^"]*)"`)
)

func (p page) csrf(t *testing.T) string { t.Helper(); return idptest.CSRF(t, p.body) }

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

func (b *browser) cookie() *http.Cookie { return b.br.Cookie() }
