package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

// rp is the relying party the bench plays: the demo's Esenzioni client.
type rp struct {
	issuer, clientID, secret, redirect string
	verifier                           *oidc.IDTokenVerifier
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// grant is what the relying party holds between /authorize and /token.
type grant struct{ code, verifier, nonce string }

// tokens is the relying party's part of a token response.
type tokens struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
}

// cardLogin is one full OIDC card login, as a browser and the relying
// party make it: /authorize with PKCE, the card page, the card over a new
// mutual-TLS connection (validation, cached CRL, registry, session), the
// handoff back to the public origin, the redirect to the relying party
// with the code, POST /token, and the ID token verified (signature against
// /jwks, iss, aud, exp, nonce).
func (p *rp) cardLogin(public, cns *http.Client) error {
	jar, _ := cookiejar.New(nil)
	_, err := p.cardLoginIn(jar, public, cns)
	return err
}

// cardLoginIn is cardLogin in the browser whose cookies are jar: the
// browser keeps the session for the single sign-on of ssoCode.
func (p *rp) cardLoginIn(jar http.CookieJar, public, cns *http.Client) (tokens, error) {
	browser := p.browser(jar, public)
	g, body, _, err := p.authorize(browser)
	if err != nil {
		return tokens{}, err
	}
	link, ok := cardLink(body)
	if !ok {
		return tokens{}, fmt.Errorf("authorize: no card login link in %.200s", body)
	}
	// The card listener on a new connection; its redirects to the public
	// origin reuse the browser's kept-alive ones there.
	cardBrowser := p.browser(jar, public)
	cardBrowser.Transport = splitTransport{cns: cns.Transport, public: public.Transport, cnsHost: hostOf(link)}
	_, resp, err := get(cardBrowser, link)
	if err != nil {
		return tokens{}, fmt.Errorf("card login: %w", err)
	}
	if g.code, err = p.codeOf(resp, g); err != nil {
		return tokens{}, fmt.Errorf("card login: %w", err)
	}
	return p.exchange(public, g)
}

// ssoCode is the /authorize of a browser that holds a session already
// (jar): cnsgate answers with the code at once, no page and no card.
func (p *rp) ssoCode(jar http.CookieJar, public *http.Client) (grant, error) {
	g, _, resp, err := p.authorize(p.browser(jar, public))
	if err != nil {
		return grant{}, err
	}
	if g.code, err = p.codeOf(resp, g); err != nil {
		return grant{}, fmt.Errorf("authorize with a session: %w", err)
	}
	return g, nil
}

// browser is a client of the public origin with the cookies of jar, that
// follows redirects until the relying party's redirect URI.
func (p *rp) browser(jar http.CookieJar, public *http.Client) *http.Client {
	return &http.Client{Transport: public.Transport, Jar: jar, Timeout: public.Timeout,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), p.redirect) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
}

// authorize sends the browser to /authorize with PKCE, a state and a
// nonce of its own; it returns the page or the redirect it ended with.
func (p *rp) authorize(browser *http.Client) (grant, string, *http.Response, error) {
	g := grant{verifier: randHex(32), nonce: randHex(8)}
	sum := sha256.Sum256([]byte(g.verifier))
	q := url.Values{"client_id": {p.clientID}, "redirect_uri": {p.redirect}, "response_type": {"code"}, "scope": {"openid"},
		"state": {g.nonce}, "nonce": {g.nonce}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	body, resp, err := get(browser, p.issuer+"/authorize?"+q.Encode())
	if err != nil {
		return g, "", nil, fmt.Errorf("authorize: %w", err)
	}
	return g, body, resp, nil
}

// codeOf reads the code from the redirect to the relying party, whose
// state must be the one g sent.
func (p *rp) codeOf(resp *http.Response, g grant) (string, error) {
	loc, err := resp.Location()
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != g.nonce {
		return "", fmt.Errorf("ended with %d, %v: %w", resp.StatusCode, err, errNoCode)
	}
	return loc.Query().Get("code"), nil
}

// cardLink finds the card login link on the card page, unescaped: the
// href="..." whose value holds /cns/login?req= (found without a regular
// expression over the whole page, which was a share of the generator's
// CPU).
func cardLink(page string) (string, bool) {
	const mark = "/cns/login?req="
	i := strings.Index(page, mark)
	if i < 0 {
		return "", false
	}
	start := strings.LastIndex(page[:i], `href="`)
	end := strings.IndexByte(page[i:], '"')
	if start < 0 || end <= len(mark) || strings.Contains(page[start+len(`href="`):i], `"`) {
		return "", false
	}
	return strings.ReplaceAll(page[start+len(`href="`):i+end], "&amp;", "&"), true
}

// exchange is the relying party's POST /token and ID token check.
func (p *rp) exchange(public *http.Client, g grant) (tokens, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {g.code}, "redirect_uri": {p.redirect}, "code_verifier": {g.verifier}}
	req, _ := http.NewRequest(http.MethodPost, p.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(p.clientID), url.QueryEscape(p.secret))
	resp, err := public.Do(req)
	if err != nil {
		return tokens{}, fmt.Errorf("token: %w", err)
	}
	raw, err := okBody(resp, "token")
	if err != nil {
		return tokens{}, err
	}
	var tok tokens
	if err := json.Unmarshal(raw, &tok); err != nil {
		return tokens{}, fmt.Errorf("token: %w", err)
	}
	idt, err := p.verifier.Verify(context.Background(), tok.IDToken)
	if err != nil {
		return tokens{}, fmt.Errorf("id token: %w", err)
	}
	if idt.Nonce != g.nonce {
		return tokens{}, fmt.Errorf("id token nonce %q, want %q", idt.Nonce, g.nonce)
	}
	return tok, nil
}

func get(c *http.Client, u string) (string, *http.Response, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode >= 400 {
		return "", nil, fmt.Errorf("%s answered %d: %.200s", resp.Request.URL.Path, resp.StatusCode, b)
	}
	return string(b), resp, nil
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Host
}

// splitTransport sends requests for the card listener to cns (a new
// mutual-TLS connection each) and the others to public.
type splitTransport struct {
	cns, public http.RoundTripper
	cnsHost     string
}

func (s splitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == s.cnsHost {
		return s.cns.RoundTrip(r)
	}
	return s.public.RoundTrip(r)
}
