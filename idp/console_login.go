package idp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
)

// The console's login: an OpenID Connect authorization code flow with PKCE
// (S256), state and nonce, from the console's origin to cnsgate's own
// /authorize, whose card login refuses a citizen or an operator without
// the console's role (audience operators, required_roles).

// consoleLoginState is what the console keeps of a login under way, keyed
// by the SHA-256 of its state, which the login cookie holds.
type consoleLoginState struct {
	Verifier string `json:"verifier"`
	Nonce    string `json:"nonce"`
	Lang     string `json:"lang"`
}

func (c *console) redirectURI() string { return ConsoleRedirectURI(c.o.Origin) }

// ConsoleRedirectURI is the redirect URI of the console's client.
func ConsoleRedirectURI(origin string) string { return origin + "/callback" }

// login is GET /login: the start of the code flow.
func (c *console) login(w http.ResponseWriter, r *http.Request) {
	var vals [3]string
	for i := range vals {
		v, err := c.s.newID()
		if err != nil {
			c.s.unavailable(w, r, "random", err)
			return
		}
		vals[i] = v
	}
	state, verifier, nonce := vals[0], vals[1], vals[2]
	lang := web.LangFrom(r)
	raw, _ := json.Marshal(consoleLoginState{Verifier: verifier, Nonce: nonce, Lang: string(lang)})
	if err := c.s.ephemeral.Put(r.Context(), nsConsoleLogin, consoleKey(state), raw, c.s.opts.Limits.PendingTTL); err != nil {
		c.s.unavailable(w, r, "sessions", err)
		return
	}
	// Lax, not Strict: the browser comes back from the provider's origin.
	http.SetCookie(w, &http.Cookie{Name: consoleLoginCookie, Value: state, Path: "/", MaxAge: int(c.s.opts.Limits.PendingTTL.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {ConsoleClientID}, "redirect_uri": {c.redirectURI()},
		"scope": {"openid profile fiscal_number roles"}, "state": {state}, "nonce": {nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"ui_locales": {string(lang)},
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, c.s.opts.Issuer+"/authorize?"+q.Encode(), http.StatusSeeOther)
}

// callback is GET /callback: the code redeemed, the role checked, the
// console's session created.
func (c *console) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ck, err := r.Cookie(consoleLoginCookie)
	state := q.Get("state")
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1 {
		c.loginFailed(w, r, "state", "the state is not this browser's login")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: consoleLoginCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	raw, err := c.s.ephemeral.Take(r.Context(), nsConsoleLogin, consoleKey(state))
	var ls consoleLoginState
	if err != nil || json.Unmarshal(raw, &ls) != nil {
		c.loginFailed(w, r, "state", "unknown or expired login")
		return
	}
	r = r.WithContext(web.WithLang(r.Context(), web.Lang(ls.Lang)))
	if e := q.Get("error"); e != "" || q.Get("code") == "" {
		c.loginFailed(w, r, "provider", "the provider answered "+e)
		return
	}
	id, err := c.o.Exchange(r.Context(), q.Get("code"), ls.Verifier, c.redirectURI(), ls.Nonce)
	if err != nil {
		c.loginFailed(w, r, "exchange", err.Error())
		return
	}
	sess := &consoleSession{FiscalCode: id.FiscalCode, Name: id.Name}
	if !slices.Contains(id.Roles, c.o.Role) { // the provider refuses them first; never trusted alone
		c.act(r, sess, "login", registry.OutcomeFailure, "", map[string]any{"problem": "role " + c.o.Role + " missing"})
		c.loginPage(w, r, http.StatusForbidden, fmt.Sprintf(web.LangFrom(r).T("console.denied"), c.o.Role), "")
		return
	}
	c.startSession(w, r, sess)
}

func (c *console) startSession(w http.ResponseWriter, r *http.Request, sess *consoleSession) {
	sid, err := c.s.newID()
	if err == nil {
		sess.CSRF, err = c.s.newID()
	}
	if err != nil {
		c.s.unavailable(w, r, "random", err)
		return
	}
	raw, _ := json.Marshal(sess)
	if err := c.s.ephemeral.Put(r.Context(), nsConsole, consoleKey(sid), raw, c.s.opts.IdleTimeout); err != nil {
		c.s.unavailable(w, r, "sessions", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: ConsoleCookie, Value: sid, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	c.act(r, sess, "login", registry.OutcomeSuccess, "", nil)
	// A page, not a redirect: the Strict cookie is sent once the browser
	// navigates from the console's own page.
	c.loginPage(w, r, http.StatusOK, "", "/?lang="+string(web.LangFrom(r)))
}

func (c *console) loginFailed(w http.ResponseWriter, r *http.Request, what, detail string) {
	c.s.logger.WarnContext(r.Context(), "console login failed", "step", what, "detail", detail)
	c.loginPage(w, r, http.StatusBadRequest, web.LangFrom(r).T("console.expired"), "")
}

// logout is POST /logout: the console's session ends (the card login's
// session on the public origin is the operator's to end there).
func (c *console) logout(w http.ResponseWriter, r *http.Request, sess *consoleSession) {
	if ck, err := r.Cookie(ConsoleCookie); err == nil {
		_, _ = c.s.ephemeral.Take(r.Context(), nsConsole, consoleKey(ck.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: ConsoleCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	c.act(r, sess, "logout", registry.OutcomeSuccess, "", nil)
	c.loginPage(w, r, http.StatusOK, "", "")
}
