package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The workloads -workload selects, each measured on every cnsgate and on
// its own bare baseline, interleaved (A, B, A, B):
//
//   - login: the full card login (login.go) against a new mutual-TLS
//     connection and one signature (baseline.go);
//   - token: POST /token, the code exchange of the relying party (form,
//     basic auth, PKCE verifier, ID token verified by go-oidc) on a
//     kept-alive connection, against the baseline's POST /token (form,
//     basic auth, one signature, JSON). The codes are prepared before the
//     clock starts, by the /authorize of a browser holding a session (no
//     page, no card): neither their /authorize nor the card login behind
//     the session is in the measured time or the server's CPU;
//   - userinfo, introspect: GET /userinfo with a bearer access token, POST
//     /introspect of it with basic auth, on kept-alive connections, against
//     a bare HTTPS endpoint that reads the same request and answers a
//     small JSON (what the machine allows). Each client's access token
//     comes from a full card login before the clock starts.
const (
	kindLogin      = "login"
	kindToken      = "token"
	kindUserinfo   = "userinfo"
	kindIntrospect = "introspect"
)

var kinds = []string{kindLogin, kindToken, kindUserinfo, kindIntrospect}

// maxTokenDuration bounds -duration with the token workload: a code
// prepared at the start of the preparation is exchanged at most two
// durations later, within cnsgate's 60 s code lifetime.
const maxTokenDuration = 25 * time.Second

// errDrained ends a client's share of a round: no prepared code is left.
var errDrained = errors.New("no prepared code left")

// parseKinds reads -workload: known kinds, each once.
func parseKinds(s string) ([]string, error) {
	var out []string
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		switch {
		case !contains(kinds, k):
			return nil, fmt.Errorf("-workload: %q is none of %s", k, strings.Join(kinds, ", "))
		case contains(out, k):
			return nil, fmt.Errorf("-workload: %q given twice", k)
		}
		out = append(out, k)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// codePool is the codes prepared for one round of the token workload,
// shared by its clients.
type codePool struct {
	mu     sync.Mutex
	grants []grant
}

func (c *codePool) put(g grant) {
	c.mu.Lock()
	c.grants = append(c.grants, g)
	c.mu.Unlock()
}

func (c *codePool) take() (grant, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.grants) == 0 {
		return grant{}, false
	}
	g := c.grants[len(c.grants)-1]
	c.grants = c.grants[:len(c.grants)-1]
	return g, true
}

// targetWorkload is the workload kind on the cnsgate that p is the
// relying party of.
func targetWorkload(kind string, p *rp) (op func(*worker) error, prepare func([]*worker, time.Duration) error) {
	switch kind {
	case kindToken:
		return func(w *worker) error {
			g, ok := w.codes.take()
			if !ok {
				return errDrained
			}
			_, err := p.exchange(w.public, g)
			return err
		}, p.prepareCodes
	case kindUserinfo:
		return func(w *worker) error { return p.userinfo(w.public, w.tok.AccessToken) }, p.prepareTokens
	case kindIntrospect:
		return func(w *worker) error { return p.introspect(w.public, w.tok.AccessToken) }, p.prepareTokens
	}
	return func(w *worker) error { return p.cardLogin(w.public, w.fresh) }, nil
}

// baselineWorkload is the workload kind on the bare baseline, whose card
// listener is cardURL and public listener publicURL.
func baselineWorkload(kind, cardURL, publicURL, clientID, secret string) func(*worker) error {
	switch kind {
	case kindToken:
		return func(w *worker) error { return baselineToken(w.public, publicURL, clientID, secret) }
	case kindUserinfo:
		return func(w *worker) error { return userinfoAt(w.public, publicURL+"/userinfo", randHex(16)) }
	case kindIntrospect:
		return func(w *worker) error {
			return introspectAt(w.public, publicURL+"/introspect", clientID, secret, randHex(16))
		}
	}
	return func(w *worker) error { return baselineOp(w.fresh, cardURL) }
}

// eachWorker runs f for every worker at once and returns the first error.
func eachWorker(ws []*worker, f func(*worker) error) error {
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(w)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// prepareTokens gives every worker a session and its access token, by a
// full card login.
func (p *rp) prepareTokens(ws []*worker, _ time.Duration) error {
	return eachWorker(ws, func(w *worker) error {
		w.jar, _ = cookiejar.New(nil)
		tok, err := p.cardLoginIn(w.jar, w.public, w.fresh)
		w.tok = tok
		return err
	})
}

// prepareCodes gives every worker a session, then collects for d the
// codes /authorize answers the workers' browsers, into one pool.
func (p *rp) prepareCodes(ws []*worker, d time.Duration) error {
	if err := p.prepareTokens(ws, d); err != nil {
		return err
	}
	pool := &codePool{}
	stop := time.Now().Add(d)
	return eachWorker(ws, func(w *worker) error {
		w.codes = pool
		for time.Now().Before(stop) {
			g, err := p.ssoCode(w.jar, w.public)
			if err != nil {
				return err
			}
			pool.put(g)
		}
		return nil
	})
}

// userinfo is GET /userinfo with the access token: the claims of the
// citizen.
func (p *rp) userinfo(public *http.Client, access string) error {
	return userinfoAt(public, p.issuer+"/userinfo", access)
}

// introspect is the relying party's POST /introspect of its access token,
// which must be active.
func (p *rp) introspect(public *http.Client, access string) error {
	return introspectAt(public, p.issuer+"/introspect", p.clientID, p.secret, access)
}

func userinfoAt(public *http.Client, u, access string) error {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := public.Do(req)
	if err != nil {
		return fmt.Errorf("userinfo: %w", err)
	}
	raw, err := okBody(resp, "userinfo")
	if err == nil && !strings.Contains(string(raw), `"sub"`) {
		err = fmt.Errorf("userinfo without sub: %.200s", raw)
	}
	return err
}

func introspectAt(public *http.Client, u, clientID, secret, token string) error {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := public.Do(req)
	if err != nil {
		return fmt.Errorf("introspect: %w", err)
	}
	raw, err := okBody(resp, "introspect")
	if err == nil && !strings.Contains(string(raw), `"active":true`) {
		err = fmt.Errorf("introspect: the token is not active: %.200s", raw)
	}
	return err
}

// baselineToken is a code exchange on the baseline: the form with basic
// auth, the signed token read from the JSON answer.
func baselineToken(public *http.Client, base, clientID, secret string) error {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {randHex(16)}, "code_verifier": {randHex(32)}}
	req, _ := http.NewRequest(http.MethodPost, base+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := public.Do(req)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	raw, err := okBody(resp, "token")
	if err != nil {
		return err
	}
	var tok tokens
	if err := json.Unmarshal(raw, &tok); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	if strings.Count(tok.IDToken, ".") != 2 {
		return fmt.Errorf("token: no signed token in %.200s", raw)
	}
	return nil
}
