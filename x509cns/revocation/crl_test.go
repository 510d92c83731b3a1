package revocation

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestCRL runs one login's CRL check against a distribution point that
// behaves well or badly, in mode crl.
func TestCRL(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env, o *Options) (leaf *x509.Certificate)
		want  want
	}{
		{"ok/good", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			return e.card(t)
		}, wantGood},
		{"ok/revoked", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			e.card(t)
			return e.revoked(t)
		}, wantRevoked},
		{"ok/pem", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			der, err := e.ca.CRL(e.clock.Now(), e.clock.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			e.crl.SetOptions(cnstest.CRLServerOptions{Body: pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})})
			return e.card(t)
		}, wantGood},
		{"fail/stale", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			now := e.clock.Now()
			e.crl.SetOptions(cnstest.CRLServerOptions{ThisUpdate: now.Add(-48 * time.Hour), NextUpdate: now.Add(-2 * time.Hour)})
			return e.card(t)
		}, wantRefused(ErrStale)},
		{"ok/stale-within-grace", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			now := e.clock.Now()
			e.crl.SetOptions(cnstest.CRLServerOptions{ThisUpdate: now.Add(-48 * time.Hour), NextUpdate: now.Add(-30 * time.Minute)})
			return e.card(t)
		}, wantGood},
		{"ok/stale-still-revoked", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			now := e.clock.Now()
			e.crl.SetOptions(cnstest.CRLServerOptions{ThisUpdate: now.Add(-48 * time.Hour), NextUpdate: now.Add(-2 * time.Hour)})
			return e.revoked(t)
		}, wantRevoked},
		{"fail/bad-signature", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			der, err := e.ca.CRL(e.clock.Now(), e.clock.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			der[len(der)-1] ^= 0x01
			e.crl.SetOptions(cnstest.CRLServerOptions{Body: der})
			return e.card(t)
		}, wantRefused(ErrBadSignature)},
		{"fail/signed-by-another-ca", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			other := newCA(t, e.clock, "Umbria", slotOther)
			der, err := other.CRL(e.clock.Now(), e.clock.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			e.crl.SetOptions(cnstest.CRLServerOptions{Body: der})
			return e.card(t)
		}, wantRefused(ErrBadSignature)},
		{"fail/impostor-same-name", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			key, _ := cnstest.SharedKey(2048, slotOther)
			impostor, err := e.ca.Rekey(cnstest.WithKey(key))
			if err != nil {
				t.Fatal(err)
			}
			der, err := impostor.CRL(e.clock.Now(), e.clock.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			e.crl.SetOptions(cnstest.CRLServerOptions{Body: der})
			return e.card(t)
		}, wantRefused(ErrBadSignature)},
		{"fail/over-size", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			o.CRLMaxBytes = 300
			for i := range 20 {
				e.ca.Revoke(big.NewInt(int64(1000+i)), e.clock.Now(), 0)
			}
			return e.card(t)
		}, wantRefused(ErrTooLarge)},
		{"fail/garbage", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			e.crl.SetOptions(cnstest.CRLServerOptions{Body: []byte("<html>maintenance</html>")})
			return e.card(t)
		}, wantRefused(ErrMalformed)},
		{"fail/http-404", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			e.crl.SetOptions(cnstest.CRLServerOptions{HTTPStatus: http.StatusNotFound})
			return e.card(t)
		}, wantRefused(ErrHTTPStatus)},
		{"fail/http-503", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			e.crl.SetOptions(cnstest.CRLServerOptions{HTTPStatus: http.StatusServiceUnavailable})
			return e.card(t)
		}, wantNetworkErr},
		{"fail/server-down", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			e.ca.CRLDistributionPoints = []string{deadURL(t)}
			return e.card(t)
		}, wantNetworkErr},
		{"fail/slow-past-fetch-timeout", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			o.CRLFetchTimeout = 100 * time.Millisecond
			e.crl.SetOptions(cnstest.CRLServerOptions{Delay: 2 * time.Second})
			return e.card(t)
		}, wantNetworkErr},
		{"fail/ldap-only", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			e.ca.CRLDistributionPoints = []string{"ldap://ldap.example.test/cn=CA?certificateRevocationList"}
			return e.card(t)
		}, wantRefused(ErrNoSource)},
		{"fail/not-yet-valid", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			now := e.clock.Now()
			e.crl.SetOptions(cnstest.CRLServerOptions{ThisUpdate: now.Add(time.Hour), NextUpdate: now.Add(2 * time.Hour)})
			return e.card(t)
		}, wantRefused(ErrNotYetValid)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			o := Options{Mode: ModeCRL}
			leaf := tc.setup(t, e, &o)
			c := e.checker(t, o)
			r := c.Check(bg(), leaf, e.ca.Cert)
			tc.want.check(t, r)
			if r.Method != MethodCRL {
				t.Errorf("method = %q", r.Method)
			}
		})
	}
}

// TestCRLRollback: a CRL whose number goes backwards is refused and the
// cached one kept.
func TestCRLRollback(t *testing.T) {
	e := newEnv(t)
	c := e.checker(t, Options{Mode: ModeCRL})
	revoked := e.revoked(t)
	e.ca.SetCRLNumber(10)
	wantRevoked.check(t, c.Check(bg(), revoked, e.ca.Cert))

	e.ca.Unrevoke(revoked.SerialNumber)
	e.ca.SetCRLNumber(9)
	e.clock.Advance(time.Minute)
	if err := c.Refresh(bg()); !errors.Is(err, ErrRollback) {
		t.Fatalf("Refresh = %v, want ErrRollback", err)
	}
	wantRevoked.check(t, c.Check(bg(), revoked, e.ca.Cert))
	if got := c.state(e.ca.Cert).crl.Load().number.Int64(); got != 10 {
		t.Fatalf("cached CRL number %d, want 10", got)
	}
}

// TestCRLConditionalGet: a refresh sends the validators of the last
// answer; a 304 keeps the cached CRL.
func TestCRLConditionalGet(t *testing.T) {
	e := newEnv(t)
	der, err := e.ca.CRL(e.clock.Now(), e.clock.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("If-None-Match")+"|"+r.Header.Get("If-Modified-Since"))
		mu.Unlock()
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Mar 2026 09:00:00 GMT")
		_, _ = w.Write(der)
	}), "/ca.crl")
	e.ca.CRLDistributionPoints = []string{url}
	c := e.checker(t, Options{Mode: ModeCRL})
	leaf := e.card(t)
	wantGood.check(t, c.Check(bg(), leaf, e.ca.Cert))
	before := c.state(e.ca.Cert).crl.Load()
	if err := c.Refresh(bg()); err != nil {
		t.Fatal(err)
	}
	if after := c.state(e.ca.Cert).crl.Load(); after != before {
		t.Error("a 304 replaced the cached CRL")
	}
	wantGood.check(t, c.Check(bg(), leaf, e.ca.Cert))
	want := []string{"|", `"v1"|Mon, 02 Mar 2026 09:00:00 GMT`}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("requests %q, want %q", got, want)
	}
}

// TestCRLNewlyRevokedEvent: a refreshed CRL reports the serials it newly
// lists; the first load reports First, with no serial list.
func TestCRLNewlyRevokedEvent(t *testing.T) {
	e := newEnv(t)
	var events []RevokedEvent
	c := e.checker(t, Options{Mode: ModeCRL, OnRevoked: func(ev RevokedEvent) { events = append(events, ev) }})
	old := e.revoked(t)
	leaf := e.card(t)
	wantGood.check(t, c.Check(bg(), leaf, e.ca.Cert))
	if len(events) != 1 || !events[0].First || len(events[0].Serials) != 0 || events[0].IssuerName != e.ca.Cert.Subject.CommonName {
		t.Fatalf("first load emitted %v, want one First event without serials", events)
	}
	events = nil
	e.clock.Advance(time.Minute)
	e.ca.Revoke(leaf.SerialNumber, e.clock.Now(), 1)
	e.ca.Revoke(big.NewInt(12345), e.clock.Now(), 4)
	if err := c.Refresh(bg()); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("events = %d, want 1", len(events))
	}
	ev := events[0]
	if ev.IssuerName != e.ca.Cert.Subject.CommonName || ev.Issuer != e.ca.Cert || ev.Source != e.crlURL {
		t.Errorf("event issuer %q source %q", ev.IssuerName, ev.Source)
	}
	if ev.First || len(ev.Serials) != 2 || !containsSerial(ev.Serials, leaf.SerialNumber) || !containsSerial(ev.Serials, big.NewInt(12345)) ||
		containsSerial(ev.Serials, old.SerialNumber) {
		t.Errorf("serials %v", ev.Serials)
	}
	wantRevoked.check(t, c.Check(bg(), leaf, e.ca.Cert))
}

// TestRevokedCacheOnly: Revoked answers from the cached CRL alone, by the
// issuer's key id or, without one, its name; never for another CA.
func TestRevokedCacheOnly(t *testing.T) {
	e := newEnv(t)
	c := e.checker(t, Options{Mode: ModeCRL})
	leaf := e.card(t)
	ski, name := e.ca.Cert.SubjectKeyId, e.ca.Cert.Subject.CommonName
	if r, known := c.Revoked(ski, name, leaf.SerialNumber); r || known {
		t.Fatalf("before any CRL: revoked %v known %v", r, known)
	}
	wantGood.check(t, c.Check(bg(), leaf, e.ca.Cert))
	if r, known := c.Revoked(ski, name, leaf.SerialNumber); r || !known {
		t.Fatalf("good card: revoked %v known %v", r, known)
	}
	e.clock.Advance(time.Minute)
	e.ca.Revoke(leaf.SerialNumber, e.clock.Now(), 1)
	if err := c.Refresh(bg()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		ski         []byte
		issuer      string
		revoked, ok bool
	}{
		{"ok/by-key-id", ski, "", true, true},
		{"ok/by-name", nil, name, true, true},
		{"fail/other-key-id", []byte{1, 2, 3}, name, false, false},
		{"fail/other-name", nil, "Another CA", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r, known := c.Revoked(tc.ski, tc.issuer, leaf.SerialNumber); r != tc.revoked || known != tc.ok {
				t.Errorf("revoked %v known %v, want %v %v", r, known, tc.revoked, tc.ok)
			}
		})
	}
	if r, _ := c.Revoked(ski, name, nil); r {
		t.Error("nil serial revoked")
	}
}

func containsSerial(list []*big.Int, s *big.Int) bool {
	for _, x := range list {
		if x.Cmp(s) == 0 {
			return true
		}
	}
	return false
}

// TestCRLSingleflight: concurrent first logins of one issuer download its
// CRL once.
func TestCRLSingleflight(t *testing.T) {
	e := newEnv(t)
	e.crl.SetOptions(cnstest.CRLServerOptions{Delay: 200 * time.Millisecond})
	c := e.checker(t, Options{Mode: ModeCRL})
	leaf := e.card(t)
	var wg sync.WaitGroup
	results := make([]Result, 16)
	for i := range results {
		wg.Go(func() { results[i] = c.Check(bg(), leaf, e.ca.Cert) })
	}
	wg.Wait()
	for _, r := range results {
		wantGood.check(t, r)
	}
	if n := e.crl.Requests(); n != 1 {
		t.Fatalf("CRL downloaded %d times, want 1", n)
	}
}
