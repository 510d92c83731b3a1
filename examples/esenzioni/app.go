package esenzioni

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/examples/internal/webpage"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// Scopes the relying party asks for: the name (profile) and the fiscal
// code (fiscal_number).
var Scopes = []string{oidc.ScopeOpenID, oidc.ScopeProfile, "fiscal_number"}

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
	// Now and Rand default to time.Now and crypto/rand. Now is the clock of
	// the local sessions (and of when the access token is due for a
	// refresh); the token checks of zitadel's verifier use the system's.
	Now  func() time.Time
	Rand io.Reader
}

// Cookies of the relying party. The __Host- prefix pins them to its
// origin; their names differ from cnsgate's, which shares the host name
// in the demo (cookies do not tell ports apart).
const (
	sessionCookie = "__Host-esenzioni_session"
	loginCookie   = "__Host-esenzioni_login"
	logoutCookie  = "__Host-esenzioni_logout"
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
	cfg Config
	// party is zitadel's relying party: the provider's endpoints from
	// discovery, the OAuth 2.0 client and the ID token verifier.
	party  rp.RelyingParty
	store  *store
	pages  webpage.Set
	mux    *http.ServeMux
	logger *slog.Logger
	now    func() time.Time
	rand   io.Reader
}

var _ http.Handler = (*App)(nil)

// New discovers the provider and builds the relying party. ctx bounds the
// discovery request only.
func New(ctx context.Context, cfg Config) (*App, error) {
	cfg = withDefaults(cfg)
	paths := map[string]string{}
	for name, u := range map[string]string{"redirect": cfg.RedirectURL, "post-logout redirect": cfg.PostLogoutRedirectURL, "back-channel logout": cfg.BackchannelLogoutURL} {
		p, err := url.Parse(u)
		if err != nil || !p.IsAbs() || p.Path == "" || p.Path == "/" {
			return nil, fmt.Errorf("esenzioni: the %s URL %q needs a scheme, a host and a path", name, u)
		}
		paths[name] = p.Path
	}
	party, err := newParty(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pg, err := webpage.Parse(templateFS, "esenzioni", pageNames...)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, party: party, store: newStore(cfg.Now), pages: pg, logger: cfg.Logger, now: cfg.Now, rand: cfg.Rand}
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

func withDefaults(cfg Config) Config {
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
	return cfg
}

// newParty is where a Go relying party starts with zitadel/oidc: one call
// reads the provider's discovery document and returns the client.
//
//   - WithHTTPClient: every call to the provider (discovery, JWKS, token)
//     goes through the configured client, which trusts its TLS certificate.
//   - WithAuthStyle(AuthStyleInHeader): client_secret_basic, for the code
//     exchange and the refresh alike.
//   - WithSigningAlgsFromDiscovery: ID tokens are verified with whichever
//     algorithm the provider publishes (cnsgate signs RS256 by default and
//     offers ES256 and PS256), never "none" nor an HMAC.
//   - WithNonce: the verifier compares the ID token's nonce with the one
//     the callback puts in the context (withNonce); a refresh, whose
//     context has none, accepts only an ID token without a nonce.
//
// PKCE is done in login and callback (WithCodeChallenge, WithCodeVerifier)
// rather than with rp.WithPKCE: that option keeps the verifier in a
// cookie, while this relying party keeps each pending login server-side,
// usable once, beside its state and nonce.
func newParty(ctx context.Context, cfg Config) (rp.RelyingParty, error) {
	party, err := rp.NewRelyingPartyOIDC(ctx, cfg.Issuer, cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL, Scopes,
		rp.WithHTTPClient(cfg.HTTPClient),
		rp.WithAuthStyle(oauth2.AuthStyleInHeader),
		rp.WithSigningAlgsFromDiscovery(),
		rp.WithVerifierOpts(rp.WithNonce(nonceFrom)),
	)
	if err != nil {
		return nil, fmt.Errorf("esenzioni: discovery: %w", err)
	}
	if party.GetEndSessionEndpoint() == "" {
		return nil, errors.New("esenzioni: the provider publishes no end_session_endpoint")
	}
	return party, nil
}

// nonceKey carries the nonce a login expects to the ID token verifier.
type nonceKey struct{}

func withNonce(ctx context.Context, nonce string) context.Context {
	return context.WithValue(ctx, nonceKey{}, nonce)
}

func nonceFrom(ctx context.Context) string {
	n, _ := ctx.Value(nonceKey{}).(string)
	return n
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// current returns the session of the request's cookie.
func (a *App) current(r *http.Request) (string, *session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return "", nil, false
	}
	se, ok := a.store.session(c.Value)
	return c.Value, se, ok
}

// home shows the citizen's exemptions, or the login button. A session
// whose access token has expired is refreshed first: if cnsgate no longer
// honours it (the citizen logged out there), the session ends here too.
func (a *App) home(w http.ResponseWriter, r *http.Request) {
	id, se, ok := a.current(r)
	if ok && !a.refreshIfDue(r.Context(), se) {
		a.store.deleteSession(id)
		clearCookie(w, sessionCookie)
		ok = false
	}
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

// setCookie sets one of the relying party's cookies; maxAge 0 lasts as
// long as the browser.
func setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
