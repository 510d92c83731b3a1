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
	"regexp"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

// rp is the relying party the bench plays: the demo's Esenzioni client.
type rp struct {
	issuer, clientID, secret, redirect string
	verifier                           *oidc.IDTokenVerifier
}

var hrefLogin = regexp.MustCompile(`href="([^"]*/cns/login\?req=[^"]+)"`)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cardLogin is one full OIDC card login, as a browser and the relying
// party make it: /authorize with PKCE, the card page, the card over a new
// mutual-TLS connection (validation, cached CRL, registry, session), the
// handoff back to the public origin, the redirect to the relying party
// with the code, POST /token, and the ID token verified (signature against
// /jwks, iss, aud, exp, nonce).
func (p *rp) cardLogin(public, cns *http.Client) error {
	jar, _ := cookiejar.New(nil)
	browser := func(c *http.Client) *http.Client {
		return &http.Client{Transport: c.Transport, Jar: jar, Timeout: c.Timeout,
			CheckRedirect: func(req *http.Request, _ []*http.Request) error {
				if strings.HasPrefix(req.URL.String(), p.redirect) {
					return http.ErrUseLastResponse
				}
				return nil
			}}
	}
	verifierRaw, nonce, state := randHex(32), randHex(8), randHex(8)
	sum := sha256.Sum256([]byte(verifierRaw))
	q := url.Values{"client_id": {p.clientID}, "redirect_uri": {p.redirect}, "response_type": {"code"}, "scope": {"openid"},
		"state": {state}, "nonce": {nonce}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	body, _, err := get(browser(public), p.issuer+"/authorize?"+q.Encode())
	if err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	m := hrefLogin.FindStringSubmatch(body)
	if m == nil {
		return fmt.Errorf("authorize: no card login link in %.200s", body)
	}
	// The card listener on a new connection; its redirects to the public
	// origin reuse the browser's kept-alive ones there.
	cardBrowser := browser(public)
	cardBrowser.Transport = splitTransport{cns: cns.Transport, public: public.Transport, cnsHost: hostOf(m[1])}
	_, resp, err := get(cardBrowser, strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		return fmt.Errorf("card login: %w", err)
	}
	loc, err := resp.Location()
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != state {
		return fmt.Errorf("card login ended with %d, %v: %w", resp.StatusCode, err, errNoCode)
	}
	return p.exchange(public, loc.Query().Get("code"), verifierRaw, nonce)
}

// exchange is the relying party's POST /token and ID token check.
func (p *rp) exchange(public *http.Client, code, verifier, nonce string) error {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {p.redirect}, "code_verifier": {verifier}}
	req, _ := http.NewRequest(http.MethodPost, p.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(p.clientID), url.QueryEscape(p.secret))
	resp, err := public.Do(req)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("token answered %d: %.200s", resp.StatusCode, raw)
	}
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(raw, &tok); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	idt, err := p.verifier.Verify(context.Background(), tok.IDToken)
	if err != nil {
		return fmt.Errorf("id token: %w", err)
	}
	if idt.Nonce != nonce {
		return fmt.Errorf("id token nonce %q, want %q", idt.Nonce, nonce)
	}
	return nil
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
	p, err := url.Parse(strings.ReplaceAll(u, "&amp;", "&"))
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
