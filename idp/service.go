package idp

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
)

// Registry is what the flows need of the registration database;
// *sqlstore.DB (idp/registry/sqlstore) implements it.
type Registry interface {
	Authorize(ctx context.Context, fiscalCode, fingerprint string) (*registry.Registration, error)
	Register(ctx context.Context, r registry.Registration) (*registry.Registration, *registry.Registration, error)
	RecordLogin(ctx context.Context, fingerprint string, at time.Time) error
	IsEligible(ctx context.Context, fiscalCode string) (bool, error)
	Operator(ctx context.Context, fiscalCode string) (*registry.Operator, error)
	List(ctx context.Context, f registry.ListFilter) ([]registry.Registration, error)
	RecentAccesses(ctx context.Context, fiscalCode string, limit int) ([]registry.Event, error)
	// ReleaseAgreed and AgreeRelease keep the citizen's agreement to
	// release a list of fields to a relying party (release.go).
	ReleaseAgreed(ctx context.Context, fiscalCode, client, fieldsHash string) (bool, error)
	AgreeRelease(ctx context.Context, fiscalCode, client, fieldsHash string, at time.Time) error
	// Consents, WithdrawConsent, RemoveCard and QueryAudit serve "La mia
	// tessera" (account.go).
	Consents(ctx context.Context, fiscalCode string) ([]registry.Consent, error)
	WithdrawConsent(ctx context.Context, fiscalCode, channel string) (int, error)
	RemoveCard(ctx context.Context, fiscalCode string, id int64) (*registry.Registration, error)
	QueryAudit(ctx context.Context, q registry.AuditQuery) ([]registry.Event, error)
}

// Auditor records audit events; *sqlstore.DB (idp/registry/sqlstore)
// implements it.
type Auditor interface {
	AppendAudit(ctx context.Context, e registry.Event) error
}

// AuditForwarder takes a copy of each audit event, without blocking;
// *auditsyslog.Sink implements it.
type AuditForwarder interface {
	Send(e registry.Event)
}

// LogoutNotifier is told, once and synchronously, when a session ends: it
// revokes what it issued in the session (OIDC token families) and returns
// the messages that tell its relying parties (OIDC back-channel logout
// tokens, SAML LogoutRequests), which the login service's logout-delivery
// engine sends. The protocol packages implement it; cmd/cnsgate wires
// them, so that idp never imports them.
type LogoutNotifier interface {
	SessionEnded(ctx context.Context, s *sessions.Session, cause string) []LogoutDelivery
}

// ServiceLink is a relying party: listed under "Servizi attivi" when it
// has a URL, and open only to its audience (access.go).
type ServiceLink struct {
	ID   string // OIDC client id or SAML SP entity id
	Name string
	URL  string // home page; "" lists it nowhere
	// Audience is AudienceAll (""), AudienceCitizens or AudienceOperators;
	// RequiredRoles must all be among the session's operator roles.
	Audience      string
	RequiredRoles []string
}

// Options are the settings of the login flows.
type Options struct {
	Issuer    string // public origin, e.g. https://login.example.it
	CNSOrigin string // card listener origin
	// AllowlistOnly registers only fiscal codes imported as eligible.
	AllowlistOnly bool
	// ConfirmIdentity asks, after a valid card login, "Stai per accedere
	// come …" with "Continua" and "Non sono io" (flow_confirm.go).
	ConfirmIdentity bool
	// ConfirmRelease shows, before a relying party first receives a
	// citizen's data, the list of what it will receive with "Continua"
	// and "Annulla" (release.go), again when the list changes.
	ConfirmRelease bool
	// ConsentVersion is the version of the consent text the registration
	// page shows, recorded with each consent (default DefaultConsentVersion).
	ConsentVersion  string
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	Services        []ServiceLink
	// RelyingParties are every configured relying party (URL its home
	// page, when it has one): the login page reached from one names it and
	// links back to it.
	RelyingParties []ServiceLink
	// OperatorRoles are the roles operator administration may grant
	// (operators.roles); empty: any.
	OperatorRoles []string
	// AuditSink says where audit events go: AuditSinkLog (the structured
	// log), AuditSinkDB (Deps.Auditor) or AuditSinkBoth, the default.
	AuditSink string
	// AuditRevealFiscalCode logs fiscal codes in full in audit log lines;
	// by default they are masked. The audit table always holds them in full.
	AuditRevealFiscalCode bool
	// Delivery tunes the logout-delivery engine.
	Delivery DeliveryOptions
	// RegistryTimeout bounds every registry call and audit write, whatever
	// the request allows (default DefaultRegistryTimeout).
	RegistryTimeout time.Duration
	// Limits bound the unauthenticated login starts (ratelimit.go).
	Limits Limits
	// Now and Rand default to time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

// Service runs the citizen's journey: "Accedi con TS/CNS", "Registra
// TS-CNS", the handoff back to the public origin, the welcome page and
// "Esci".
type Service struct {
	opts      Options
	pages     *web.Pages
	front     *FrontDoor
	sessions  sessions.Store
	ephemeral sessions.Ephemeral
	registry  Registry
	recorder  Recorder
	logger    *slog.Logger
	delivery  *LogoutEngine
	audits    *auditWriter    // nil without an Auditor
	forward   AuditForwarder  // nil: none
	limiter   *rateLimiter    // nil: no per-IP limit
	revoked   RevocationCache // nil: sessions are not re-checked

	mu         sync.RWMutex
	notifiers  []LogoutNotifier
	resumers   map[string]ResumeFunc
	cancellers map[string]CancelFunc
	endSession EndSessionFunc
}

// Deps are the parts a Service is built from. Recorder and Auditor may be
// nil (no metrics; audit to the log only).
type Deps struct {
	Pages     *web.Pages
	Front     *FrontDoor
	Sessions  sessions.Store
	Ephemeral sessions.Ephemeral
	Registry  Registry
	Auditor   Auditor
	// AuditForward also gets every audit event (the syslog sink of
	// idp/auditsyslog); nil: none. Its Send must not block.
	AuditForward AuditForwarder
	Recorder     Recorder
	Logger       *slog.Logger
	// Revocation is the cache-only revocation lookup guarding every use
	// of a session; nil when revocation checking is off.
	Revocation RevocationCache
}

// NewService builds the login service and starts its logout-delivery
// engine; stop it with Close.
func NewService(d Deps, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if d.Recorder == nil {
		d.Recorder = NopRecorder{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RegistryTimeout <= 0 {
		o.RegistryTimeout = DefaultRegistryTimeout
	}
	if d.Registry != nil {
		d.Registry = boundedRegistry{r: d.Registry, timeout: o.RegistryTimeout}
	}
	if o.ConsentVersion == "" {
		o.ConsentVersion = DefaultConsentVersion
	}
	if o.Limits.PendingTTL <= 0 {
		o.Limits.PendingTTL = DefaultPendingTTL
	}
	o.Issuer = strings.TrimRight(o.Issuer, "/")
	o.CNSOrigin = strings.TrimRight(o.CNSOrigin, "/")
	s := &Service{
		opts: o, pages: d.Pages, front: d.Front, sessions: d.Sessions, ephemeral: d.Ephemeral,
		registry: d.Registry, recorder: d.Recorder, logger: d.Logger, revoked: d.Revocation, forward: d.AuditForward,
		resumers: map[string]ResumeFunc{}, cancellers: map[string]CancelFunc{},
	}
	s.limiter = newRateLimiter(o.Limits, o.Now)
	s.delivery = NewLogoutEngine(o.Delivery, s.deliveryDone)
	if d.Auditor != nil {
		s.audits = newAuditWriter(d.Auditor, o.RegistryTimeout, d.Logger)
	}
	return s
}

// AddLogoutNotifier registers a party to tell when sessions end.
func (s *Service) AddLogoutNotifier(n LogoutNotifier) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifiers = append(s.notifiers, n)
}

// NotFoundPattern is the ServeMux pattern of the 404 page on both origins:
// the catch-all, under a wildcard name that metrics.Instrument recognises,
// so what the page answers is labelled "unmatched" while a handler of "/"
// keeps its own route label.
const NotFoundPattern = "/{unmatched...}"

// PublicHandler serves the public origin's login pages.
func (s *Service) PublicHandler() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", s.pages.Static()))
	mux.HandleFunc(NotFoundPattern, s.notFound)
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET "+PathStart, s.startLogin)
	mux.HandleFunc("GET /cns/complete", s.complete)
	mux.HandleFunc("GET "+PathCancel, s.cancelLogin)
	mux.HandleFunc("POST "+PathRelease, s.releaseChoice)
	mux.HandleFunc("GET /logout", s.logoutPage)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET "+PathAccount, s.account)
	mux.HandleFunc("GET "+PathAccountCSV, s.historyCSV)
	mux.HandleFunc("GET "+PathAccountRemove, s.removeCardPage)
	mux.HandleFunc("POST "+PathAccountRemove, s.removeCard)
	mux.HandleFunc("GET "+PathAccountWithdraw, s.withdrawPage)
	mux.HandleFunc("POST "+PathAccountWithdraw, s.withdrawConsent)
	mux.HandleFunc("GET "+PathAccountDone, s.accountDone)
	return mux
}

// CNSHandler serves the card listener.
func (s *Service) CNSHandler() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", s.pages.Static()))
	mux.HandleFunc(NotFoundPattern, s.notFound)
	mux.HandleFunc("GET /cns/login", s.cnsLogin)
	if s.opts.ConfirmIdentity {
		mux.HandleFunc("POST /cns/login", s.cnsLogin) // "Continua" / "Non sono io"
	}
	mux.HandleFunc("POST /cns/register", s.cnsRegister)
	mux.HandleFunc("GET /cns/check", s.cnsCheck)
	return mux
}

// Issuer returns the public origin.
func (s *Service) Issuer() string { return s.opts.Issuer }

// Ready reports whether the session store answers (for /readyz).
func (s *Service) Ready(ctx context.Context) error { return s.sessions.Ping(ctx) }

// newID returns a fresh 256-bit random identifier.
func (s *Service) newID() (string, error) { return sessions.NewID(s.opts.Rand) }

func (s *Service) loginURL(req string) string {
	u := s.opts.CNSOrigin + "/cns/login"
	if req != "" {
		u += "?req=" + req
	}
	return u
}

// unavailable answers when a store Redis or the database cannot serve: the
// citizen reads "servizio temporaneamente non disponibile", nothing is lost,
// and the next request tries again.
func (s *Service) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.logger.ErrorContext(r.Context(), "dependency unavailable", "dependency", what, "err", err)
	lang := web.LangFrom(r)
	w.Header().Set("Retry-After", "30")
	s.render(w, r, http.StatusServiceUnavailable, "error.html", page{
		Lang: lang, Title: lang.T("unavailable.title"), Heading: lang.T("unavailable.title"),
		Message: lang.T("unavailable.text"), RequestID: RequestID(r.Context()),
	})
}

// isDomainErr reports errors that are answers, not outages.
func isDomainErr(err error) bool {
	return errors.Is(err, sessions.ErrNotFound) || errors.Is(err, sessions.ErrExpired) ||
		errors.Is(err, registry.ErrNotRegistered) || errors.Is(err, registry.ErrReplaced) ||
		errors.Is(err, registry.ErrRevoked) || errors.Is(err, registry.ErrNotFound)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
