package cms

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"embed"
	"errors"
	"fmt"
	"github.com/cnsgate/cnsgate/examples/internal/webpage"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"
)

// Config configures the service provider.
type Config struct {
	// BaseURL is the service provider's origin (https://localhost:8082);
	// samlsp serves /saml/metadata and /saml/acs under it.
	BaseURL string
	// EntityID defaults to BaseURL + "/saml/metadata".
	EntityID string
	// IdPMetadataURL is cnsgate's /saml/metadata; it must answer when New
	// is called.
	IdPMetadataURL string
	// IdPLogoutURL is cnsgate's /logout, linked after the local logout.
	IdPLogoutURL string
	// Key and Certificate sign the AuthnRequests and decrypt the
	// assertions; the same pair is in the metadata cnsgate reads.
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate
	// HTTPClient fetches the identity provider's metadata; it must trust
	// cnsgate's TLS certificate. Default http.DefaultClient.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

const (
	// sessionCookie is samlsp's session; the __Host- prefix pins it to
	// this origin and its name differs from cnsgate's, which shares the
	// host name in the demo.
	sessionCookie = "__Host-cms_session"
	loginPath     = "/login"
	logoutPath    = "/logout"
	// RoleAttribute carries the operator's roles (both attribute profiles).
	RoleAttribute = "role"
)

// errNotOperator refuses an assertion without roles.
var errNotOperator = errors.New("cms: the user has no operator role")

// App is the service provider; it is an http.Handler.
type App struct {
	cfg    Config
	sp     *samlsp.Middleware
	pages  webpage.Set
	mux    *http.ServeMux
	logger *slog.Logger
}

var _ http.Handler = (*App)(nil)

// New fetches the identity provider's metadata and builds the service
// provider. ctx bounds the metadata request only.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Key == nil || cfg.Certificate == nil {
		return nil, errors.New("cms: a key and a certificate are required")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Scheme != "https" || base.Host == "" {
		return nil, fmt.Errorf("cms: base URL %q: an https origin is required", cfg.BaseURL)
	}
	if cfg.EntityID == "" {
		cfg.EntityID = strings.TrimSuffix(cfg.BaseURL, "/") + "/saml/metadata"
	}
	mdURL, err := url.Parse(cfg.IdPMetadataURL)
	if err != nil {
		return nil, fmt.Errorf("cms: identity provider metadata URL: %w", err)
	}
	idp, err := samlsp.FetchMetadata(ctx, cfg.HTTPClient, *mdURL)
	if err != nil {
		return nil, fmt.Errorf("cms: identity provider metadata: %w", err)
	}
	m, err := samlsp.New(samlsp.Options{
		URL: *base, EntityID: cfg.EntityID, Key: cfg.Key, Certificate: cfg.Certificate,
		IDPMetadata: idp, SignRequest: true, HTTPClient: cfg.HTTPClient, CookieSameSite: http.SameSiteLaxMode,
	})
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	// samlsp signs with RSA-SHA1 by default, which cnsgate refuses.
	m.ServiceProvider.SignatureMethod = dsig.RSASHA256SignatureMethod
	m.ServiceProvider.AuthnNameIDFormat = saml.PersistentNameIDFormat
	sessions := samlsp.DefaultSessionProvider(samlsp.Options{URL: *base, Key: cfg.Key, CookieSameSite: http.SameSiteLaxMode})
	sessions.Name, sessions.Domain, sessions.Path = sessionCookie, "", "/"
	m.Session = sessions
	pg, err := webpage.Parse(templateFS, "cms", pageNames...)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, sp: m, pages: pg, logger: cfg.Logger}
	m.AssertionHandler = requireRole{}
	m.OnError = a.onError

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET "+loginPath, a.login)
	mux.HandleFunc("POST "+logoutPath, a.logout)
	mux.Handle("/saml/", m) // metadata and ACS
	mux.Handle("GET /static/", webpage.Static(staticFS))
	a.mux = mux
	return a, nil
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// requireRole refuses, before any session is made, an assertion whose
// subject has no role: citizens may log in to cnsgate, not to the CMS.
type requireRole struct{}

func (requireRole) HandleAssertion(as *saml.Assertion) error {
	for _, st := range as.AttributeStatements {
		for _, at := range st.Attributes {
			if at.Name != RoleAttribute && at.FriendlyName != RoleAttribute {
				continue
			}
			for _, v := range at.Values {
				if strings.TrimSpace(v.Value) != "" {
					return nil
				}
			}
		}
	}
	return errNotOperator
}

// operator is what the account page shows, read from samlsp's session.
type operator struct {
	fiscalCode, fullName string
	roles                []string
}

func (a *App) current(r *http.Request) (*operator, bool) {
	s, err := a.sp.Session.GetSession(r)
	if err != nil || s == nil {
		return nil, false
	}
	sa, ok := s.(samlsp.SessionWithAttributes)
	if !ok {
		return nil, false
	}
	attrs := sa.GetAttributes()
	cf := attrs.Get("fiscalNumber")
	if cf == "" {
		cf = attrs.Get("fiscal_number")
	}
	cf = strings.TrimPrefix(cf, "TINIT-")
	given, family := attrs.Get("name"), attrs.Get("familyName")
	if given == "" {
		given, family = attrs.Get("given_name"), attrs.Get("family_name")
	}
	op := &operator{fiscalCode: cf, fullName: strings.TrimSpace(webpage.DisplayName(given) + " " + webpage.DisplayName(family)), roles: attrs[RoleAttribute]}
	if cf == "" || len(op.roles) == 0 {
		return nil, false
	}
	return op, true
}

// home shows the operator's identity and roles, or the login button.
func (a *App) home(w http.ResponseWriter, r *http.Request) {
	op, ok := a.current(r)
	if !ok {
		a.render(w, http.StatusOK, "home.html", pageData{Title: "Gestione tessere", LoginPath: loginPath})
		return
	}
	a.render(w, http.StatusOK, "account.html", pageData{Title: "Area operatori", FiscalCode: op.fiscalCode,
		FullName: op.fullName, Roles: op.roles, LogoutPath: logoutPath})
}

// login starts samlsp's flow: a signed AuthnRequest to cnsgate by
// HTTP-Redirect; the login comes back here and then home.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.current(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a.sp.HandleStartAuthFlow(w, r)
}

// logout is "Esci": a local logout (samlsp offers no single logout), then
// a page linking to cnsgate's own logout. The session cookie is SameSite
// Lax, and the Origin, when sent, must be ours.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && o != strings.TrimSuffix(a.cfg.BaseURL, "/") {
		a.fail(w, r, http.StatusForbidden, "La richiesta non è valida. Torna alla pagina iniziale e riprova.", "logout from another origin "+o, nil)
		return
	}
	if op, ok := a.current(r); ok {
		a.logger.InfoContext(r.Context(), "cms: operator logged out", "fiscal_code", op.fiscalCode)
	}
	_ = a.sp.Session.DeleteSession(w, r)
	a.render(w, http.StatusOK, "loggedout.html", pageData{Title: "Hai chiuso la sessione", IdPLogoutURL: a.cfg.IdPLogoutURL})
}

// onError is samlsp's error handler: a citizen is refused with a page of
// their own, anything else gets a fixed message and the detail is logged.
func (a *App) onError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errNotOperator) {
		a.logger.InfoContext(r.Context(), "cms: login refused, no operator role")
		a.render(w, http.StatusForbidden, "refused.html", pageData{Title: "Accesso riservato agli operatori", IdPLogoutURL: a.cfg.IdPLogoutURL})
		return
	}
	var ire *saml.InvalidResponseError
	if errors.As(err, &ire) {
		err = ire.PrivateErr
	}
	a.fail(w, r, http.StatusForbidden, "Non è stato possibile completare l'accesso. Torna alla pagina iniziale e riprova.", "login failed", err)
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/cms.css
var staticFS embed.FS

var pageNames = []string{"home.html", "account.html", "refused.html", "loggedout.html", "error.html"}

// pageData is what every page may show.
type pageData struct {
	Title        string
	Message      string
	LoginPath    string
	LogoutPath   string
	IdPLogoutURL string
	FiscalCode   string
	FullName     string
	Roles        []string
}

// render writes a page; see webpage.Set.Render.
func (a *App) render(w http.ResponseWriter, status int, name string, d pageData) {
	a.pages.Render(w, a.logger, status, name, d)
}

// fail shows the error page with a fixed message; the log has the detail.
func (a *App) fail(w http.ResponseWriter, r *http.Request, status int, message, detail string, err error) {
	if err != nil {
		a.logger.WarnContext(r.Context(), "cms: "+detail, "err", err)
	} else {
		a.logger.WarnContext(r.Context(), "cms: "+detail)
	}
	a.render(w, status, "error.html", pageData{Title: "Accesso non riuscito", Message: message})
}
