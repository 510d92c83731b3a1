package idptest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// SessionsFunc makes the session store of a test.
type SessionsFunc func(t *testing.T) (sessions.Store, sessions.Ephemeral)

// Options says what differs between the services the tests start.
type Options struct {
	// CA issues the cards the service trusts; nil makes a regional CA
	// "Toscana".
	CA *cnstest.CA
	// Sessions makes the session store; nil means memory sessions.
	Sessions SessionsFunc
	// Registry is the registry driver, "sqlite" (the default) or
	// "postgres"; the database comes from registrytest.
	Registry string
	// Front holds the extras of the front door (Revocation, Proxies,
	// Recorder).
	Front idp.FrontDoorOptions
	// Recorder and Logger go to idp.Deps; a nil Logger is
	// FiscalCodeFreeLogger's: the test fails if any line names a citizen.
	Recorder idp.Recorder
	Logger   *slog.Logger
	// Revocation is idp.Deps.Revocation: the cache-only revocation
	// lookup guarding every use of a session; nil: none.
	Revocation idp.RevocationCache
	// Service tweaks idp.Options after Issuer, CNSOrigin and the timeouts
	// are set (Services, AllowlistOnly, AuditSink, Now...).
	Service func(*idp.Options)
	// Wrap, when set, wraps each listener's mux inside Front.RequestInfo.
	Wrap func(http.Handler) http.Handler
	// Mount mounts more routes on the public mux before it serves.
	Mount func(e *Env)
	// Site is what the pages show around their content (web.NewSite); its
	// Home defaults to the public origin. Nil: web.New's bare pages.
	Site *web.Site
}

// Env is a running login service: public and card listeners over real TLS
// on loopback, real stores, an in-process card PKI.
type Env struct {
	T         *testing.T
	CA        *cnstest.CA
	Trust     *x509cns.TrustStore
	Front     *idp.FrontDoor
	Service   *idp.Service
	Registry  *sqlstore.DB
	Store     sessions.Store
	Ephemeral sessions.Ephemeral
	Pages     *web.Pages
	Logger    *slog.Logger
	Public    *httptest.Server
	CNS       *httptest.Server
	// Roots trusts the test servers (they share httptest's certificate).
	Roots *x509.CertPool
	// Mux is the public mux, served behind Public.
	Mux *http.ServeMux
}

// New starts the login service; everything is closed when t ends.
func New(t *testing.T, o Options) *Env {
	t.Helper()
	e := &Env{T: t, CA: o.CA}
	// First, so that its check runs last: after the service has closed.
	e.Logger = o.Logger
	if e.Logger == nil {
		e.Logger = FiscalCodeFreeLogger(t)
	}
	if e.CA == nil {
		ca, err := cnstest.NewRegionalCA("Toscana")
		if err != nil {
			t.Fatal(err)
		}
		e.CA = ca
	}
	e.Trust = x509cns.NewTrustStore()
	e.Trust.Add(e.CA.Cert, "test")
	v := &x509cns.Validator{Anchors: e.Trust, Policy: x509cns.DefaultPolicy()}
	e.Front = idp.NewFrontDoor(v, o.Front)

	newSessions := o.Sessions
	if newSessions == nil {
		newSessions = MemorySessions(nil)
	}
	e.Store, e.Ephemeral = newSessions(t)
	e.Registry = OpenRegistry(t, o.Registry)
	e.Public = httptest.NewUnstartedServer(nil)
	e.CNS = httptest.NewUnstartedServer(nil)
	// As cnsgate's card listener: no TLS resumption, one request per
	// connection, so every login is a handshake the card signs.
	e.CNS.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, MaxVersion: tls.VersionTLS12, SessionTicketsDisabled: true}
	e.CNS.Config.SetKeepAlivesEnabled(false)
	e.Public.StartTLS()
	e.CNS.StartTLS()
	t.Cleanup(e.Public.Close)
	t.Cleanup(e.CNS.Close)
	e.Roots = x509.NewCertPool()
	e.Roots.AddCert(e.Public.Certificate())
	site := web.Site{}
	if o.Site != nil {
		site = *o.Site
	}
	if site.Home == "" {
		site.Home = e.Public.URL
	}
	pages, err := web.NewSite(site)
	if err != nil {
		t.Fatal(err)
	}
	e.Pages = pages

	opts := idp.Options{
		Issuer: e.Public.URL, CNSOrigin: e.CNS.URL,
		IdleTimeout: 15 * time.Minute, AbsoluteTimeout: 8 * time.Hour,
	}
	if o.Service != nil {
		o.Service(&opts)
	}
	e.Service = idp.NewService(idp.Deps{
		Pages: pages, Front: e.Front, Sessions: e.Store, Ephemeral: e.Ephemeral,
		Registry: e.Registry, Auditor: e.Registry, Recorder: o.Recorder, Logger: e.Logger,
		Revocation: o.Revocation,
	}, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Service.Close(ctx)
	})
	e.Mux = e.Service.PublicHandler()
	if o.Mount != nil {
		o.Mount(e)
	}
	wrap := o.Wrap
	if wrap == nil {
		wrap = func(h http.Handler) http.Handler { return h }
	}
	// As cmd/cnsgate wires them: the client's address as the trusted
	// proxies of Front report it, the peer's otherwise.
	e.Public.Config.Handler = e.Front.RequestInfo(wrap(e.Mux))
	e.CNS.Config.Handler = e.Front.RequestInfo(wrap(e.Service.CNSHandler()))
	return e
}

// OpenRegistry opens a fresh registry database of driver ("sqlite" when
// empty, or "postgres"), closed when t ends.
func OpenRegistry(t *testing.T, driver string) *sqlstore.DB {
	t.Helper()
	var dsn string
	switch driver {
	case "", "sqlite":
		driver, dsn = "sqlite", registrytest.SQLiteDSN(t)
	case "postgres":
		dsn = registrytest.PostgresDSN(t)
	default:
		t.Fatalf("idptest: unknown registry driver %q", driver)
	}
	reg, err := sqlstore.Open(context.Background(), driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

// MemorySessions makes memory sessions on clock now (nil: the wall clock).
func MemorySessions(now func() time.Time) SessionsFunc {
	return func(t *testing.T) (sessions.Store, sessions.Ephemeral) {
		m := sessions.NewMemory(sessions.MemoryOptions{Now: now})
		t.Cleanup(func() { m.Close() })
		return m, m.Ephemeral()
	}
}

// RedisSessions uses the shared test Redis (sessionstest.RedisAddr) under a
// fresh key prefix "cnsgate-<name>-test:<random>:".
func RedisSessions(name string, now func() time.Time) SessionsFunc {
	return func(t *testing.T) (sessions.Store, sessions.Ephemeral) {
		return RedisSessionsAt(t, sessionstest.RedisAddr(t), name, now)
	}
}

// RedisSessionsAt is RedisSessions on the Redis server at addr.
func RedisSessionsAt(t *testing.T, addr, name string, now func() time.Time) (sessions.Store, sessions.Ephemeral) {
	t.Helper()
	c, err := redisstore.NewClient(redisstore.Options{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	st, err := redisstore.New(c, redisstore.StoreOptions{Prefix: fmt.Sprintf("cnsgate-%s-test:%x:", name, suffix), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return st, st.Ephemeral()
}

// PreRegister binds card in the registry directly, as an earlier
// "Registra TS-CNS" would have.
func (e *Env) PreRegister(card *cnstest.Card) {
	e.T.Helper()
	id, err := x509cns.ExtractIdentity(card.Cert, card.CA.Cert)
	if err != nil {
		e.T.Fatal(err)
	}
	if _, _, err := e.Registry.Register(context.Background(), registry.Registration{
		FiscalCode: id.FiscalCode, CardID: id.CardID, Issuer: id.Issuer, Serial: id.Serial, Fingerprint: id.Fingerprint,
		CardType: string(id.CardType),
	}); err != nil {
		e.T.Fatal(err)
	}
}

// Client trusts the test servers.
func (e *Env) Client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.Roots}}}
}
