package idp_test

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/idptest"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// backend names a pair of real stores the journey runs on.
type backend struct {
	name     string
	sessions idptest.SessionsFunc
	registry string // driver
}

// redisSessionsAt uses the Redis server at addr under a fresh key prefix.
func redisSessionsAt(t *testing.T, addr string) (sessions.Store, sessions.Ephemeral) {
	return idptest.RedisSessionsAt(t, addr, "idp", nil)
}

var backends = []backend{
	{"memory+sqlite", idptest.MemorySessions(nil), "sqlite"},
	{"redis+postgres", idptest.RedisSessions("idp", nil), "postgres"},
}

// harness is a running login service (see idptest) with a revocation
// checker and a logout notifier of its own.
type harness struct {
	t        *testing.T
	env      *idptest.Env
	ca       *cnstest.CA
	svc      *idp.Service
	reg      *sqlstore.DB
	store    sessions.Store
	public   *httptest.Server
	cns      *httptest.Server
	roots    *x509.CertPool
	now      time.Time
	revoked  map[string]bool // serial hex → revoked, for the checker below
	notified []string        // causes of ended sessions seen by the notifier
}

type harnessOptions struct {
	allowlist bool
	proxies   *idp.TrustedProxies
	recorder  idp.Recorder
	sessions  func(t *testing.T) (sessions.Store, sessions.Ephemeral)
	logger    *slog.Logger
	site      *web.Site
	// consentVersion is idp.Options.ConsentVersion ("": the default).
	consentVersion string
}

func newHarness(t *testing.T, b backend, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, now: time.Now(), revoked: map[string]bool{}}
	newSessions := b.sessions
	if o.sessions != nil {
		newSessions = o.sessions
	}
	e := idptest.New(t, idptest.Options{
		Sessions: newSessions,
		Registry: b.registry,
		Front:    idp.FrontDoorOptions{Revocation: revocationFunc(h.checkRevoked), Proxies: o.proxies, Recorder: o.recorder},
		Recorder: o.recorder,
		Logger:   o.logger,
		Site:     o.site,
		Service: func(so *idp.Options) {
			so.AllowlistOnly = o.allowlist
			so.ConsentVersion = o.consentVersion
			so.Services = []idp.ServiceLink{{Name: "Esenzioni da reddito", URL: "https://esenzioni.example/"}}
		},
	})
	h.env, h.ca, h.svc, h.reg, h.store = e, e.CA, e.Service, e.Registry, e.Store
	h.public, h.cns, h.roots = e.Public, e.CNS, e.Roots
	h.svc.AddLogoutNotifier(notifierFunc(func(_ context.Context, s *sessions.Session, cause string) {
		h.notified = append(h.notified, cause)
	}))
	return h
}

type revocationFunc func(ctx context.Context, chain []*x509.Certificate) error

func (f revocationFunc) Verify(ctx context.Context, chain []*x509.Certificate) error {
	return f(ctx, chain)
}

// checkRevoked stands for the revocation checker: the tests of
// x509cns/revocation prove CRLs and OCSP; here only its verdict matters.
func (h *harness) checkRevoked(_ context.Context, chain []*x509.Certificate) error {
	if h.revoked[x509cns.Fingerprint(chain[0])] {
		return x509cns.Reject(x509cns.ReasonRevoked, "listed in the test CRL")
	}
	return nil
}

type notifierFunc func(ctx context.Context, s *sessions.Session, cause string)

func (f notifierFunc) SessionEnded(ctx context.Context, s *sessions.Session, cause string) []idp.LogoutDelivery {
	f(ctx, s, cause)
	return nil
}

// browser is an idptest.Browser that fetches pages of this package.
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

func (b *browser) post(u string, form url.Values, origin string) page {
	b.h.t.Helper()
	return fromPage(b.br.Post(u, form, origin))
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	return fromPage(idptest.ReadPage(t, resp))
}

func (p page) csrf(t *testing.T) string { t.Helper(); return idptest.CSRF(t, p.body) }

func (p page) must(t *testing.T, status int, texts ...string) page {
	t.Helper()
	idptest.Page{Status: p.status, Body: p.body, URL: p.url}.Must(t, status, texts...)
	return p
}

// register takes card through "Registra TS-CNS".
func (h *harness) register(b *browser) { h.t.Helper(); b.br.Register() }

// login takes card through "Login TS-CNS" and returns the welcome page.
func (h *harness) login(b *browser) page { h.t.Helper(); return fromPage(b.br.Login()) }

func (b *browser) cookie() *http.Cookie { return b.br.Cookie() }

// preRegister binds card in the registry directly, as an earlier
// "Registra TS-CNS" would have.
func (h *harness) preRegister(card *cnstest.Card) { h.t.Helper(); h.env.PreRegister(card) }
