package esenzioni

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/cnsgate/cnsgate/examples/internal/webpage"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Scopes the relying party asks for: the name (profile) and the fiscal
// code (fiscal_number).
var Scopes = []string{gooidc.ScopeOpenID, "profile", "fiscal_number"}

// Config configures the relying party.
type Config struct {
	// Issuer is the OpenID Provider (cnsgate's issuer); its discovery
	// document must answer when New is called.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL, PostLogoutRedirectURL and BackchannelLogoutURL are
	// registered with the provider; the handler serves each at its path.
	RedirectURL           string
	PostLogoutRedirectURL string
	BackchannelLogoutURL  string
	// HTTPClient makes every call to the provider (discovery, JWKS,
	// token); it must trust the provider's TLS certificate. Default
	// http.DefaultClient.
	HTTPClient *http.Client
	// SessionLifetime bounds a local session; default 30 minutes.
	SessionLifetime time.Duration
	Logger          *slog.Logger
	// Now and Rand default to time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

// Cookies of the relying party. The __Host- prefix pins them to its
// origin; their names differ from cnsgate's, which shares the host name
// in the demo (cookies do not tell ports apart).
const (
	sessionCookie = "__Host-esenzioni_session"
	loginCookie   = "__Host-esenzioni_login"
)

const (
	loginPath  = "/login"
	logoutPath = "/logout"
	loginTTL   = 10 * time.Minute
	// clockSkew is allowed between the provider's clock and ours.
	clockSkew = 2 * time.Minute
)

// App is the relying party; it is an http.Handler.
type App struct {
	cfg        Config
	verifier   *gooidc.IDTokenVerifier
	oauth      *oauth2.Config
	endSession string
	store      *store
	pages      webpage.Set
	mux        *http.ServeMux
	logger     *slog.Logger
	now        func() time.Time
	rand       io.Reader
}

var _ http.Handler = (*App)(nil)

// New discovers the provider and builds the relying party. ctx bounds the
// discovery request only.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = 30 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	paths := map[string]string{}
	for name, u := range map[string]string{"redirect": cfg.RedirectURL, "post-logout redirect": cfg.PostLogoutRedirectURL, "back-channel logout": cfg.BackchannelLogoutURL} {
		p, err := url.Parse(u)
		if err != nil || !p.IsAbs() || p.Path == "" || p.Path == "/" {
			return nil, fmt.Errorf("esenzioni: the %s URL %q needs a scheme, a host and a path", name, u)
		}
		paths[name] = p.Path
	}
	provider, err := gooidc.NewProvider(gooidc.ClientContext(ctx, cfg.HTTPClient), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("esenzioni: discovery: %w", err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil || meta.EndSession == "" {
		return nil, errors.New("esenzioni: the provider publishes no end_session_endpoint")
	}
	pg, err := webpage.Parse(templateFS, "esenzioni", pageNames...)
	if err != nil {
		return nil, err
	}
	a := &App{
		cfg: cfg, endSession: meta.EndSession,
		verifier: provider.Verifier(&gooidc.Config{ClientID: cfg.ClientID, Now: cfg.Now}),
		oauth: &oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: provider.Endpoint(), Scopes: Scopes,
		},
		store: newStore(cfg.Now), pages: pg, logger: cfg.Logger, now: cfg.Now, rand: cfg.Rand,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET "+loginPath, a.login)
	mux.HandleFunc("GET "+paths["redirect"], a.callback)
	mux.HandleFunc("POST "+logoutPath, a.logout)
	mux.HandleFunc("GET "+paths["post-logout redirect"], a.loggedOut)
	mux.HandleFunc("POST "+paths["back-channel logout"], a.backchannelLogout)
	mux.Handle("GET /static/", webpage.Static(staticFS))
	a.mux = mux
	return a, nil
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// clientContext carries the HTTP client to go-oidc and x/oauth2.
func (a *App) clientContext(ctx context.Context) context.Context {
	return gooidc.ClientContext(ctx, a.cfg.HTTPClient)
}

// current returns the session of the request's cookie.
func (a *App) current(r *http.Request) (string, *session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return "", nil, false
	}
	se, ok := a.store.session(c.Value)
	return c.Value, se, ok
}

// home shows the citizen's exemptions, or the login button.
func (a *App) home(w http.ResponseWriter, r *http.Request) {
	_, se, ok := a.current(r)
	if !ok {
		a.render(w, http.StatusOK, "home.html", pageData{Title: "Esenzioni dal ticket per reddito", LoginPath: loginPath})
		return
	}
	full := strings.TrimSpace(webpage.DisplayName(se.givenName) + " " + webpage.DisplayName(se.familyName))
	a.render(w, http.StatusOK, "account.html", pageData{
		Title: "Le tue esenzioni da reddito", FiscalCode: se.fiscalCode, FullName: full,
		Exemptions: demoExemptions(se.fiscalCode, a.now()), CSRF: se.csrf, LogoutPath: logoutPath,
	})
}

// login sends the browser to the provider's authorization endpoint with a
// fresh state, nonce and PKCE verifier, kept server-side under a cookie.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	id, err1 := randomID(a.rand)
	state, err2 := randomID(a.rand)
	nonce, err3 := randomID(a.rand)
	if err := errors.Join(err1, err2, err3); err != nil {
		a.fail(w, r, http.StatusInternalServerError, "Si è verificato un errore. Riprova.", "no randomness", err)
		return
	}
	p := &pendingLogin{state: state, nonce: nonce, verifier: oauth2.GenerateVerifier(), expires: a.now().Add(loginTTL)}
	a.store.putPending(id, p)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: id, Path: "/", MaxAge: int(loginTTL / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	target := a.oauth.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(p.verifier))
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// Messages the citizen reads when a login does not complete.
const (
	msgLoginExpired = "La richiesta di accesso è scaduta o non è valida. Torna alla pagina iniziale e accedi di nuovo."
	msgLoginFailed  = "Non è stato possibile completare l'accesso. Torna alla pagina iniziale e riprova."
	msgLoginDenied  = "L'accesso non è stato autorizzato."
)

// callback completes the login: the pending login is taken once, the
// state compared, the code exchanged with the PKCE verifier, the ID token
// verified and its nonce compared.
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		a.fail(w, r, http.StatusBadRequest, msgLoginExpired, "callback without login cookie", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	p, ok := a.store.takePending(c.Value)
	q := r.URL.Query()
	if !ok || !equal(q.Get("state"), p.state) {
		a.fail(w, r, http.StatusBadRequest, msgLoginExpired, "callback with unknown login or wrong state", nil)
		return
	}
	if e := q.Get("error"); e != "" {
		a.fail(w, r, http.StatusForbidden, msgLoginDenied, "provider answered "+e, errors.New(q.Get("error_description")))
		return
	}
	ctx := a.clientContext(r.Context())
	tok, err := a.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, msgLoginFailed, "code exchange failed", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		a.fail(w, r, http.StatusBadGateway, msgLoginFailed, "token response without id_token", nil)
		return
	}
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, msgLoginFailed, "ID token refused", err)
		return
	}
	if !equal(idt.Nonce, p.nonce) {
		a.fail(w, r, http.StatusBadRequest, msgLoginFailed, "ID token nonce differs from the login's", nil)
		return
	}
	var claims struct {
		SID          string `json:"sid"`
		FiscalNumber string `json:"fiscal_number"`
		GivenName    string `json:"given_name"`
		FamilyName   string `json:"family_name"`
	}
	if err := idt.Claims(&claims); err != nil {
		a.fail(w, r, http.StatusBadGateway, msgLoginFailed, "ID token claims unreadable", err)
		return
	}
	cf, found := strings.CutPrefix(claims.FiscalNumber, "TINIT-")
	if !found || cf == "" || claims.SID == "" {
		a.fail(w, r, http.StatusBadGateway, msgLoginFailed, "ID token without fiscal_number or sid", nil)
		return
	}
	id, err1 := randomID(a.rand)
	csrf, err2 := randomID(a.rand)
	if err := errors.Join(err1, err2); err != nil {
		a.fail(w, r, http.StatusInternalServerError, msgLoginFailed, "no randomness", err)
		return
	}
	a.store.putSession(id, &session{
		subject: idt.Subject, sid: claims.SID, fiscalCode: cf, givenName: claims.GivenName, familyName: claims.FamilyName,
		idToken: raw, csrf: csrf, expires: a.now().Add(a.cfg.SessionLifetime),
	})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	a.logger.InfoContext(r.Context(), "esenzioni: citizen logged in", "sub", idt.Subject, "sid", claims.SID)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout is "Esci": the local session ends at once, then the browser goes
// to the provider's end_session_endpoint (RP-Initiated Logout 1.0) with the
// ID token as hint and the registered post-logout redirect.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	id, se, ok := a.current(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !equal(r.PostFormValue("csrf"), se.csrf) {
		a.fail(w, r, http.StatusForbidden, "La richiesta non è valida. Torna alla pagina iniziale e riprova.", "logout without a valid form token", nil)
		return
	}
	a.store.deleteSession(id)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	u, err := url.Parse(a.endSession)
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, "Non è stato possibile completare l'uscita.", "end_session_endpoint unparseable", err)
		return
	}
	v := u.Query()
	v.Set("id_token_hint", se.idToken)
	v.Set("post_logout_redirect_uri", a.cfg.PostLogoutRedirectURL)
	v.Set("client_id", a.cfg.ClientID)
	u.RawQuery = v.Encode()
	a.logger.InfoContext(r.Context(), "esenzioni: citizen logged out", "sub", se.subject, "sid", se.sid)
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// loggedOut is where the provider sends the browser back after logout.
func (a *App) loggedOut(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := a.current(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.render(w, http.StatusOK, "loggedout.html", pageData{Title: "Hai chiuso la sessione"})
}
