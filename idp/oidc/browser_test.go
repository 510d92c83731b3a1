package oidc_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/idptest"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// browser holds a card and a cookie jar; it follows redirects within
// cnsgate and stops at the relying party.
type browser struct {
	h *harness
	c *http.Client
}

func (h *harness) browser(card *cnstest.Card) *browser {
	b := &browser{h: h}
	b.c = &http.Client{Jar: idptest.NewJar(), Transport: h.env.Transport(card), Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), h.rp.srv.URL) || req.URL.Scheme != "https" {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	return b
}

// response is a fetched page or a redirect that stopped at the RP.
type response struct {
	status   int
	body     string
	location *url.URL
}

func (b *browser) do(req *http.Request) response {
	b.h.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, body: string(body)}
	if loc := resp.Header.Get("Location"); loc != "" {
		out.location, _ = url.Parse(loc)
	}
	return out
}

func (b *browser) get(u string) response {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) response {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.h.public.URL)
	return b.do(req)
}

var (
	loginLinkRE = regexp.MustCompile(`href="([^"]*/cns/login\?req=[^"]+)"`)
	csrfRE      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// authorize sends the browser to authURL and, when cnsgate shows
// "Accedi con TS/CNS", logs in with the card; it returns the redirect to
// the relying party.
func (b *browser) authorize(authURL string) *url.URL {
	t := b.h.t
	t.Helper()
	r := b.get(authURL)
	if m := loginLinkRE.FindStringSubmatch(r.body); r.status == http.StatusOK && m != nil {
		r = b.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	if r.location == nil {
		t.Fatalf("authorization ended with %d and no redirect:\n%s", r.status, r.body)
	}
	return r.location
}
