package revocation

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/internal/freeport"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// Key slots of cnstest.SharedKey: CAs of one test must not share a key.
// cnstest keeps the last three slots for OCSP responders.
const (
	slotCA    = 0
	slotOther = 1
	slotLeaf  = 2
)

var epoch = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// fakeClock is the injected clock of a test: CAs and checkers share it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a test PKI: a regional CA with a CRL distribution point and an
// OCSP responder on loopback, a trust store holding it, and a clock.
type env struct {
	clock   *fakeClock
	ca      *cnstest.CA
	trust   *x509cns.TrustStore
	crl     *cnstest.CRLServer
	crlURL  string
	ocsp    *cnstest.OCSPResponder
	ocspURL string
}

func newCA(t testing.TB, clock *fakeClock, region string, slot int) *cnstest.CA {
	t.Helper()
	key, err := cnstest.SharedKey(2048, slot)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := cnstest.NewRegionalCA(region, cnstest.WithKey(key), cnstest.WithNow(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{clock: newClock()}
	e.ca = newCA(t, e.clock, "Toscana", slotCA)
	e.trust = x509cns.NewTrustStore()
	e.trust.Add(e.ca.Cert, "test")
	e.crl = e.ca.CRLServer(cnstest.CRLServerOptions{})
	crlSrv := httptest.NewServer(e.crl)
	t.Cleanup(crlSrv.Close)
	e.crlURL = crlSrv.URL + "/toscana.crl"
	var err error
	if e.ocsp, err = e.ca.OCSPResponder(cnstest.OCSPOptions{}); err != nil {
		t.Fatal(err)
	}
	ocspSrv := httptest.NewServer(e.ocsp)
	t.Cleanup(ocspSrv.Close)
	e.ocspURL = ocspSrv.URL + "/ocsp"
	e.ca.CRLDistributionPoints = []string{e.crlURL}
	e.ca.OCSPServer = []string{e.ocspURL}
	return e
}

// card issues a card naming the env's distribution point and responder.
func (e *env) card(t testing.TB) *x509.Certificate {
	t.Helper()
	c, err := e.ca.IssueCard(cnstest.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c.Cert
}

// revoked issues a card and revokes it (keyCompromise, an hour ago).
func (e *env) revoked(t testing.TB) *x509.Certificate {
	t.Helper()
	c := e.card(t)
	e.ca.Revoke(c.SerialNumber, e.clock.Now().Add(-time.Hour), 1)
	return c
}

// checker builds a Checker on the env's clock and trust store; o's other
// fields are kept. It is closed at cleanup.
func (e *env) checker(t testing.TB, o Options) *Checker {
	t.Helper()
	o.Now = e.clock.Now
	if o.Issuers == nil {
		o.Issuers = e.trust
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// deadURL is an http URL on a loopback port nobody listens on.
func deadURL(t testing.TB) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + "/dead"
}

// serve starts a loopback server for h and returns its URL + path.
func serve(t testing.TB, h http.Handler, path string) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL + path
}

// want is what a case expects of a Result and of Decide under both
// failure policies.
type want struct {
	status      Status
	method      Method
	errIs       error // nil: no Cause expected
	unreachable bool
	openReason  x509cns.Reason // "" = admitted
	closeReason x509cns.Reason
}

func (w want) check(t *testing.T, r Result) {
	t.Helper()
	if r.Status != w.status {
		t.Errorf("status = %v, want %v (cause: %v)", r.Status, w.status, r.Cause)
	}
	if w.method != "" && r.Method != w.method {
		t.Errorf("method = %q, want %q", r.Method, w.method)
	}
	if w.errIs != nil && !errors.Is(r.Cause, w.errIs) {
		t.Errorf("cause = %v, want %v", r.Cause, w.errIs)
	}
	if w.errIs == nil && r.Status == StatusUnavailable {
		t.Errorf("unexpected cause %v", r.Cause)
	}
	if r.Unreachable != w.unreachable {
		t.Errorf("unreachable = %v, want %v (cause: %v)", r.Unreachable, w.unreachable, r.Cause)
	}
	if got := x509cns.ReasonOf(Decide(r, FailOpen)); got != w.openReason {
		t.Errorf("Decide(open) = %q, want %q", got, w.openReason)
	}
	if got := x509cns.ReasonOf(Decide(r, FailClosed)); got != w.closeReason {
		t.Errorf("Decide(closed) = %q, want %q", got, w.closeReason)
	}
}

// Expectations shared by many cases.
var (
	wantGood       = want{status: StatusGood}
	wantRevoked    = want{status: StatusRevoked, openReason: x509cns.ReasonRevoked, closeReason: x509cns.ReasonRevoked}
	wantNetworkErr = want{status: StatusUnavailable, errIs: ErrUnreachable, unreachable: true,
		closeReason: x509cns.ReasonRevocationUnavailable}
)

// wantRefused is unavailable for a cause failure "open" does not forgive.
func wantRefused(cause error) want {
	return want{status: StatusUnavailable, errIs: cause,
		openReason: x509cns.ReasonRevocationUnavailable, closeReason: x509cns.ReasonRevocationUnavailable}
}

func bg() context.Context { return context.Background() }
