package idp_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// backend names a pair of real stores the journey runs on.
type backend struct {
	name     string
	sessions func(t *testing.T) (sessions.Store, sessions.Ephemeral)
	registry func(t *testing.T) string // driver:dsn
}

func memorySessions(t *testing.T) (sessions.Store, sessions.Ephemeral) {
	m := sessions.NewMemory(sessions.MemoryOptions{})
	t.Cleanup(func() { m.Close() })
	return m, m.Ephemeral()
}

// redisSessions uses the shared test Redis under a fresh key prefix.
func redisSessions(t *testing.T) (sessions.Store, sessions.Ephemeral) {
	return redisSessionsAt(t, sessionstest.RedisAddr(t))
}

func redisSessionsAt(t *testing.T, addr string) (sessions.Store, sessions.Ephemeral) {
	c, err := redisstore.NewClient(redisstore.Options{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	st, err := redisstore.New(c, redisstore.StoreOptions{Prefix: "cnsgate-idp-test:" + strings.ToLower(randomID(t)[:10]) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	return st, st.Ephemeral()
}

func randomID(t *testing.T) string {
	id, err := sessions.NewID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("-", "x", "_", "y").Replace(id)
}

var backends = []backend{
	{"memory+sqlite", memorySessions, func(t *testing.T) string { return "sqlite:" + registrytest.SQLiteDSN(t) }},
	{"redis+postgres", redisSessions, func(t *testing.T) string { return "postgres:" + registrytest.PostgresDSN(t) }},
}

// harness is a running login service: public and card listeners over real
// TLS on loopback, real stores, an in-process card PKI.
type harness struct {
	t        *testing.T
	ca       *cnstest.CA
	svc      *idp.Service
	reg      *registry.DB
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
}

func newHarness(t *testing.T, b backend, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, now: time.Now(), revoked: map[string]bool{}}
	ca, err := cnstest.NewRegionalCA("Toscana")
	if err != nil {
		t.Fatal(err)
	}
	h.ca = ca
	trust := x509cns.NewTrustStore()
	trust.Add(ca.Cert, "test")
	v := &x509cns.Validator{Anchors: trust, Policy: x509cns.DefaultPolicy()}
	front := idp.NewFrontDoor(v, idp.FrontDoorOptions{Revocation: revocationFunc(h.checkRevoked), Proxies: o.proxies, Recorder: o.recorder})

	newSessions := b.sessions
	if o.sessions != nil {
		newSessions = o.sessions
	}
	store, eph := newSessions(t)
	h.store = store
	driver, dsn, _ := strings.Cut(b.registry(t), ":")
	reg, err := registry.Open(context.Background(), driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	h.reg = reg
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}

	h.public = httptest.NewUnstartedServer(nil)
	h.cns = httptest.NewUnstartedServer(nil)
	h.cns.TLS = &tls.Config{ClientAuth: tls.RequestClientCert, MaxVersion: tls.VersionTLS12}
	h.public.StartTLS()
	h.cns.StartTLS()
	t.Cleanup(h.public.Close)
	t.Cleanup(h.cns.Close)
	h.roots = x509.NewCertPool()
	h.roots.AddCert(h.public.Certificate())

	h.svc = idp.NewService(idp.Deps{
		Pages: pages, Front: front, Sessions: store, Ephemeral: eph, Registry: reg, Auditor: reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, idp.Options{
		Issuer: h.public.URL, CNSOrigin: h.cns.URL, AllowlistOnly: o.allowlist,
		IdleTimeout: 15 * time.Minute, AbsoluteTimeout: 8 * time.Hour,
		Services: []idp.ServiceLink{{Name: "Esenzioni da reddito", URL: "https://esenzioni.example/"}},
	})
	h.svc.AddLogoutNotifier(notifierFunc(func(_ context.Context, s *sessions.Session, cause string) {
		h.notified = append(h.notified, cause)
	}))
	h.public.Config.Handler = idp.WithRequestInfo(h.svc.PublicHandler())
	h.cns.Config.Handler = idp.WithRequestInfo(h.svc.CNSHandler())
	return h
}

type revocationFunc func(ctx context.Context, leaf, issuer *x509.Certificate) error

func (f revocationFunc) Verify(ctx context.Context, leaf, issuer *x509.Certificate) error {
	return f(ctx, leaf, issuer)
}

// checkRevoked stands for the revocation checker: the tests of
// x509cns/revocation prove CRLs and OCSP; here only its verdict matters.
func (h *harness) checkRevoked(_ context.Context, leaf, _ *x509.Certificate) error {
	if h.revoked[x509cns.Fingerprint(leaf)] {
		return x509cns.Reject(x509cns.ReasonRevoked, "listed in the test CRL")
	}
	return nil
}

type notifierFunc func(ctx context.Context, s *sessions.Session, cause string)

func (f notifierFunc) SessionEnded(ctx context.Context, s *sessions.Session, cause string) {
	f(ctx, s, cause)
}

// browser is a client with a cookie jar that presents card (or none) to
// the card listener, following redirects as a browser does.
type browser struct {
	h *harness
	c *http.Client
}

func (h *harness) browser(card *cnstest.Card) *browser {
	jar, _ := cookiejar.New(nil)
	tc := &tls.Config{RootCAs: h.roots}
	if card != nil {
		pair := card.TLSCertificate()
		tc.Certificates = []tls.Certificate{pair}
	}
	return &browser{h: h, c: &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 15 * time.Second}}
}

// page is a fetched page.
type page struct {
	status int
	body   string
	url    *url.URL
}

func (b *browser) get(u string) page {
	b.h.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.h.t.Fatalf("GET %s: %v", u, err)
	}
	return readPage(b.h.t, resp)
}

func (b *browser) post(u string, form url.Values, origin string) page {
	b.h.t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatalf("POST %s: %v", u, err)
	}
	return readPage(b.h.t, resp)
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, body: string(body), url: resp.Request.URL}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf token in page:\n%s", p.body)
	}
	return m[1]
}

func (p page) must(t *testing.T, status int, texts ...string) page {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", p.url, p.status, status, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("%s: page lacks %q:\n%s", p.url, s, p.body)
		}
	}
	return p
}

// register takes card through "Registra TS-CNS".
func (h *harness) register(b *browser) {
	h.t.Helper()
	p := b.get(h.cns.URL+"/cns/login").must(h.t, 200, "Registra TS-CNS")
	b.post(h.cns.URL+"/cns/register", url.Values{"csrf": {p.csrf(h.t)}, "consent": {"yes"}}, h.cns.URL).
		must(h.t, 200, "Operazione correttamente eseguita")
}

// login takes card through "Login TS-CNS" and returns the welcome page.
func (h *harness) login(b *browser) page {
	h.t.Helper()
	return b.get(h.cns.URL+"/cns/login").must(h.t, 200, "Servizi attivi", "Esci")
}

func (b *browser) cookie() *http.Cookie {
	u, _ := url.Parse(b.h.public.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == idp.SessionCookie {
			return c
		}
	}
	return nil
}

// preRegister binds card in the registry directly, as an earlier
// "Registra TS-CNS" would have.
func (h *harness) preRegister(card *cnstest.Card) {
	h.t.Helper()
	id, err := x509cns.ExtractIdentity(card.Cert, card.CA.Cert)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, _, err := h.reg.Register(context.Background(), registry.Registration{
		FiscalCode: id.FiscalCode, CardID: id.CardID, Issuer: id.Issuer, Serial: id.Serial, Fingerprint: id.Fingerprint,
		CardType: string(id.CardType),
	}); err != nil {
		h.t.Fatal(err)
	}
}
