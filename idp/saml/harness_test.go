package saml

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/idptest"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// harness is a running login service with the SAML identity provider
// mounted: public and card listeners over real TLS on loopback, memory
// sessions, a SQLite registry, an in-process card PKI (the setup of
// idp/harness_test.go).
type harness struct {
	t      *testing.T
	env    *idptest.Env
	ca     *cnstest.CA
	svc    *idp.Service
	reg    *sqlstore.DB
	store  sessions.Store
	eph    sessions.Ephemeral
	public *httptest.Server
	cns    *httptest.Server
	roots  *x509.CertPool
	mux    *http.ServeMux
	dir    string

	idp     *IdP
	idpKey  *rsa.PrivateKey
	idpCert *x509.Certificate
	rec     *countingRecorder
	now     func() time.Time
	skew    time.Duration // the NotBeforeSkew the identity provider uses
	// ahead is how far the session store's clock runs ahead of the wall
	// clock (nanoseconds), to pass a session's deadlines.
	ahead atomic.Int64

	// revocation is the service's cache-only revocation lookup: none until
	// a test stores a checker in it.
	revocation *checkerCache

	mu       sync.Mutex
	notified []string // causes of ended sessions seen by a second notifier
	logs     bytes.Buffer
}

// Write collects the identity provider's log lines.
func (h *harness) Write(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.logs.Write(b)
}

// takeLogs returns the log lines written since the last call.
func (h *harness) takeLogs() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.logs.String()
	h.logs.Reset()
	return s
}

// newHarness starts the login service; tweak changes its options (the
// logout-delivery engine's by default make 3 attempts, 10 ms apart at
// first).
func newHarness(t *testing.T, tweak ...func(*idp.Options)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), rec: &countingRecorder{}, now: time.Now, revocation: &checkerCache{}}
	storeNow := func() time.Time { return time.Now().Add(time.Duration(h.ahead.Load())) }
	e := idptest.New(t, idptest.Options{Recorder: h.rec, Sessions: idptest.MemorySessions(storeNow), Revocation: h.revocation, Service: func(o *idp.Options) {
		o.Delivery.Attempts, o.Delivery.Backoff = 3, idp.ExponentialBackoff(10*time.Millisecond, time.Second)
		for _, f := range tweak {
			f(o)
		}
	}})
	h.env, h.ca, h.svc, h.reg, h.store, h.eph = e, e.CA, e.Service, e.Registry, e.Store, e.Ephemeral
	h.public, h.cns, h.roots, h.mux = e.Public, e.CNS, e.Roots, e.Mux
	h.svc.AddLogoutNotifier(notifierFunc(func(_ context.Context, _ *sessions.Session, cause string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.notified = append(h.notified, cause)
	}))
	h.idpKey = cnstest.MustKey(2048)
	h.idpCert = selfSigned(t, h.idpKey, "cnsgate test IdP")
	return h
}

// start builds the identity provider for sps and mounts it.
func (h *harness) start(sps []ServiceProvider, tweak ...func(*Options)) *IdP {
	h.t.Helper()
	certFile := h.writeFile("idp.crt", pemBlock("CERTIFICATE", h.idpCert.Raw))
	keyFile := h.writeFile("idp.key", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(h.idpKey)))
	o := Options{
		NameIDSalt: []byte("0123456789abcdef0123456789abcdef-test"),
		Recorder:   h.rec, HTTPClient: h.client(), Now: func() time.Time { return h.now() },
		Logger: slog.New(slog.NewTextHandler(h, nil)),
	}
	for _, f := range tweak {
		f(&o)
	}
	o.CertFile, o.KeyFile, o.ServiceProviders = certFile, keyFile, sps
	switch h.skew = o.NotBeforeSkew; {
	case h.skew == 0:
		h.skew = DefaultNotBeforeSkew
	case h.skew < 0:
		h.skew = 0
	}
	p, err := New(h.svc, h.store, h.eph, o)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	p.Mount(h.mux)
	h.idp = p
	return p
}

// client trusts the loopback test servers (they share httptest's
// certificate).
func (h *harness) client() *http.Client { return h.env.Client() }

func (h *harness) writeFile(name string, data []byte) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func selfSigned(t testing.TB, key *rsa.PrivateKey, cn string) *x509.Certificate {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type notifierFunc func(ctx context.Context, s *sessions.Session, cause string)

func (f notifierFunc) SessionEnded(ctx context.Context, s *sessions.Session, cause string) []idp.LogoutDelivery {
	f(ctx, s, cause)
	return nil
}

// countingRecorder counts what the identity provider and the login
// service's logout-delivery engine record.
type countingRecorder struct {
	idp.NopRecorder
	mu     sync.Mutex
	tokens map[string]int // kind/client
	notes  map[string]int // kind/result
}

// RateLimited counts a login start refused by the per-IP limit under
// "rate_limited/<route>".
func (c *countingRecorder) RateLimited(route string) { c.LogoutNotification("rate_limited", route) }

func (c *countingRecorder) TokenIssued(kind, client string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens == nil {
		c.tokens = map[string]int{}
	}
	c.tokens[kind+"/"+client]++
}

func (c *countingRecorder) LogoutNotification(kind, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.notes == nil {
		c.notes = map[string]int{}
	}
	c.notes[kind+"/"+result]++
}

// SAMLRequestRefused counts a refused request under "refused/<reason>".
func (c *countingRecorder) SAMLRequestRefused(reason string) { c.LogoutNotification("refused", reason) }

// SessionEnded counts an ended session under "ended/<cause>".
func (c *countingRecorder) SessionEnded(cause string) { c.LogoutNotification("ended", cause) }

func (c *countingRecorder) note(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notes[key]
}

// preRegister binds card in the registry, as an earlier "Registra TS-CNS"
// would have.
func (h *harness) preRegister(card *cnstest.Card) {
	h.t.Helper()
	h.env.PreRegister(card)
}

// citizen issues and registers a card for fiscal code cf.
func (h *harness) citizen(cf string) *cnstest.Card {
	h.t.Helper()
	card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: cf, GivenName: "MARIO", FamilyName: "ROSSI"})
	h.preRegister(card)
	return card
}

func (h *harness) notifications() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.notified...)
}
