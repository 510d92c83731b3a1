package revocation

import (
	"crypto/x509"
	"errors"
	"maps"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestModes runs the fall-through modes: the second method is asked only
// when the first is unavailable, and failure "open" forgives only when
// every method with a source failed on the network.
func TestModes(t *testing.T) {
	crlDown := func(t *testing.T, e *env) { e.ca.CRLDistributionPoints = []string{deadURL(t)} }
	ocspDown := func(t *testing.T, e *env) { e.ca.OCSPServer = []string{deadURL(t)} }
	ocspAlwaysGood := func(t *testing.T, e *env) {
		e.ca.OCSPServer = []string{serve(t, xcryptoResponder(t, e, e.ca.Cert, e.ca.Key), "/")}
	}
	tests := []struct {
		name       string
		mode       Mode
		setup      func(t *testing.T, e *env) *x509.Certificate
		want       want
		crlReqs    int
		ocspReqs   int
		causeIs    error // for a conclusive answer after a fall-through
		wantMethod Method
	}{
		{"ok/crl-answers-first", ModeCRLThenOCSP, func(t *testing.T, e *env) *x509.Certificate {
			return e.card(t)
		}, wantGood, 1, 0, nil, MethodCRL},
		{"ok/crl-down-falls-to-ocsp", ModeCRLThenOCSP, func(t *testing.T, e *env) *x509.Certificate {
			crlDown(t, e)
			return e.card(t)
		}, wantGood, 0, 1, ErrUnreachable, MethodOCSP},
		{"ok/crl-stale-falls-to-ocsp-revoked", ModeCRLThenOCSP, func(t *testing.T, e *env) *x509.Certificate {
			now := e.clock.Now()
			stale, err := e.ca.CRL(now.Add(-48*time.Hour), now.Add(-3*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			e.crl.SetOptions(cnstest.CRLServerOptions{Body: stale})
			return e.revoked(t)
		}, wantRevoked, 1, 1, ErrStale, MethodOCSP},
		{"ok/crl-revoked-never-falls-through", ModeCRLThenOCSP, func(t *testing.T, e *env) *x509.Certificate {
			ocspAlwaysGood(t, e)
			return e.revoked(t)
		}, wantRevoked, 1, 0, nil, MethodCRL},
		{"ok/ocsp-answers-first", ModeOCSPThenCRL, func(t *testing.T, e *env) *x509.Certificate {
			return e.card(t)
		}, wantGood, 0, 1, nil, MethodOCSP},
		{"ok/ocsp-bad-answer-falls-to-crl", ModeOCSPThenCRL, func(t *testing.T, e *env) *x509.Certificate {
			if err := e.ocsp.SetOptions(cnstest.OCSPOptions{AnswerSerial: big.NewInt(1)}); err != nil {
				t.Fatal(err)
			}
			return e.revoked(t)
		}, wantRevoked, 1, 1, ErrSerialMismatch, MethodCRL},
		{"ok/ocsp-refusal-falls-to-crl", ModeOCSPThenCRL, func(t *testing.T, e *env) *x509.Certificate {
			if err := e.ocsp.SetOptions(cnstest.OCSPOptions{ResponseStatus: 6}); err != nil {
				t.Fatal(err)
			}
			return e.card(t)
		}, wantGood, 1, 1, ErrResponder, MethodCRL},
		{"fail/both-down-open-admits", ModeCRLThenOCSP, func(t *testing.T, e *env) *x509.Certificate {
			crlDown(t, e)
			ocspDown(t, e)
			return e.card(t)
		}, wantNetworkErr, 0, 0, nil, MethodOCSP},
		{"fail/ocsp-down-crl-down-open-admits", ModeOCSPThenCRL, func(t *testing.T, e *env) *x509.Certificate {
			crlDown(t, e)
			ocspDown(t, e)
			return e.card(t)
		}, wantNetworkErr, 0, 0, nil, MethodCRL},
		{"fail/crl-down-no-ocsp-url-open-admits", ModeCRLThenOCSP, func(t *testing.T, e *env) *x509.Certificate {
			crlDown(t, e)
			e.ca.OCSPServer = []string{}
			return e.card(t)
		}, wantNetworkErr, 0, 0, nil, MethodOCSP},
		{"fail/crl-down-ocsp-unauthorized-not-forgiven", ModeCRLThenOCSP, func(t *testing.T, e *env) *x509.Certificate {
			crlDown(t, e)
			if err := e.ocsp.SetOptions(cnstest.OCSPOptions{UnauthorizedSigner: true}); err != nil {
				t.Fatal(err)
			}
			return e.card(t)
		}, wantRefused(ErrUnauthorizedResponder), 0, 1, nil, MethodOCSP},
		{"ok/none", ModeNone, func(t *testing.T, e *env) *x509.Certificate {
			return e.revoked(t)
		}, want{status: StatusGood, method: MethodNone}, 0, 0, nil, MethodNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			leaf := tc.setup(t, e)
			c := e.checker(t, Options{Mode: tc.mode})
			r := c.Check(bg(), leaf, e.ca.Cert)
			tc.want.check(t, r)
			if r.Method != tc.wantMethod {
				t.Errorf("method = %q, want %q", r.Method, tc.wantMethod)
			}
			if tc.causeIs != nil && !errors.Is(r.Cause, tc.causeIs) {
				t.Errorf("cause = %v, want the first method's %v", r.Cause, tc.causeIs)
			}
			if got := e.crl.Requests(); got != tc.crlReqs {
				t.Errorf("CRL requests = %d, want %d", got, tc.crlReqs)
			}
			if got := e.ocsp.Requests(); got != tc.ocspReqs {
				t.Errorf("OCSP requests = %d, want %d", got, tc.ocspReqs)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	network := errors.Join(unreachable("dial tcp: connection refused"))
	tests := []struct {
		name   string
		r      Result
		open   x509cns.Reason
		closed x509cns.Reason
	}{
		{"ok/good", Result{Status: StatusGood, Method: MethodCRL}, "", ""},
		{"fail/revoked", Result{Status: StatusRevoked, Method: MethodOCSP, RevokedAt: epoch, ReasonCode: 1}, x509cns.ReasonRevoked, x509cns.ReasonRevoked},
		{"fail/revoked-even-if-unreachable-flag", Result{Status: StatusRevoked, Unreachable: true}, x509cns.ReasonRevoked, x509cns.ReasonRevoked},
		{"ok/open-network-failure", Result{Method: MethodOCSP, Cause: network, Unreachable: true}, "", x509cns.ReasonRevocationUnavailable},
		{"fail/open-stale", Result{Method: MethodCRL, Cause: ErrStale}, x509cns.ReasonRevocationUnavailable, x509cns.ReasonRevocationUnavailable},
		{"fail/open-unknown", Result{Method: MethodOCSP, Cause: ErrUnknownCert}, x509cns.ReasonRevocationUnavailable, x509cns.ReasonRevocationUnavailable},
		{"fail/zero-result", Result{}, x509cns.ReasonRevocationUnavailable, x509cns.ReasonRevocationUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := x509cns.ReasonOf(Decide(tc.r, FailOpen)); got != tc.open {
				t.Errorf("open: %q, want %q", got, tc.open)
			}
			err := Decide(tc.r, FailClosed)
			if got := x509cns.ReasonOf(err); got != tc.closed {
				t.Errorf("closed: %q, want %q", got, tc.closed)
			}
			if tc.r.Cause != nil && err != nil && !errors.Is(err, tc.r.Cause) {
				t.Errorf("rejection %v does not wrap the cause", err)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		msg  string
	}{
		{"fail/mode", Options{Mode: "crl_only"}, "unknown mode"},
		{"fail/failure", Options{Failure: "sometimes"}, "unknown failure policy"},
		{"fail/ocsp-url", Options{OCSPURL: "ldap://x"}, "not http"},
		{"fail/crl-url", Options{CRLURLs: map[string][]string{"CA": {"ftp://x"}}}, "not http"},
		{"fail/negative-timeout", Options{OCSPTimeout: -time.Second}, "negative duration"},
		{"fail/hash", Options{OCSPHash: 99}, "not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.o); err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("New = %v, want %q", err, tc.msg)
			}
		})
	}
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := c.Options()
	if o.Mode != ModeCRLThenOCSP || o.Failure != FailClosed || o.OCSPTimeout != 2*time.Second || o.CRLMaxBytes != 64<<20 {
		t.Fatalf("defaults: %+v", o)
	}
}

type fakeRecorder struct {
	mu       sync.Mutex
	checks   map[string]int
	entries  map[string]int
	failures map[string]int
}

var _ Recorder = (*fakeRecorder)(nil)

func (r *fakeRecorder) CheckDone(m Method, s Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks[string(m)+"/"+s.String()]++
}

func (r *fakeRecorder) CRLState(issuer string, age time.Duration, entries int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries[issuer] = entries
}

func (r *fakeRecorder) CRLRefreshFailed(issuer string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures[issuer]++
}

func TestRecorder(t *testing.T) {
	e := newEnv(t)
	rec := &fakeRecorder{checks: map[string]int{}, entries: map[string]int{}, failures: map[string]int{}}
	c := e.checker(t, Options{Mode: ModeCRLThenOCSP, Recorder: rec})
	e.revoked(t)
	good := e.card(t)
	wantGood.check(t, c.Check(bg(), good, e.ca.Cert))
	e.crl.SetOptions(cnstest.CRLServerOptions{HTTPStatus: 502})
	e.clock.Advance(26 * time.Hour) // past nextUpdate and grace: refetch fails, OCSP answers
	wantGood.check(t, c.Check(bg(), good, e.ca.Cert))
	cn := e.ca.Cert.Subject.CommonName
	if want := map[string]int{"crl/good": 1, "crl/unavailable": 1, "ocsp/good": 1}; !maps.Equal(rec.checks, want) {
		t.Errorf("checks %v, want %v", rec.checks, want)
	}
	if rec.entries[cn] != 1 || rec.failures[cn] != 1 {
		t.Errorf("entries %v failures %v", rec.entries, rec.failures)
	}
}
