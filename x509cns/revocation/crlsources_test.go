package revocation

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

func writeCRL(t *testing.T, ca *cnstest.CA, now time.Time, asPEM bool) string {
	t.Helper()
	der, err := ca.CRL(now, now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.crl")
	if asPEM {
		der = pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
	}
	if err := os.WriteFile(path, der, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCRLFiles: CRL files are loaded by Start and answer without network
// (the cards' distribution point is dead).
func TestCRLFiles(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, e *env, o *Options) (leaf *x509.Certificate, file string)
		startErr error
		want     want
	}{
		{"ok/der", func(t *testing.T, e *env, o *Options) (*x509.Certificate, string) {
			leaf := e.card(t)
			return leaf, writeCRL(t, e.ca, e.clock.Now(), false)
		}, nil, wantGood},
		{"ok/pem-revoked", func(t *testing.T, e *env, o *Options) (*x509.Certificate, string) {
			leaf := e.revoked(t)
			return leaf, writeCRL(t, e.ca, e.clock.Now(), true)
		}, nil, wantRevoked},
		{"ok/issuer-not-in-trust-store", func(t *testing.T, e *env, o *Options) (*x509.Certificate, string) {
			o.Issuers = x509cns.NewTrustStore() // e.g. an intermediate: loaded when its first card logs in
			leaf := e.revoked(t)
			return leaf, writeCRL(t, e.ca, e.clock.Now(), false)
		}, nil, wantRevoked},
		{"fail/corrupt", func(t *testing.T, e *env, o *Options) (*x509.Certificate, string) {
			path := filepath.Join(t.TempDir(), "bad.crl")
			if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
			return e.card(t), path
		}, ErrMalformed, wantNetworkErr},
		{"fail/impostor-key", func(t *testing.T, e *env, o *Options) (*x509.Certificate, string) {
			key, _ := cnstest.SharedKey(2048, slotOther)
			impostor, err := e.ca.Rekey(cnstest.WithKey(key))
			if err != nil {
				t.Fatal(err)
			}
			return e.card(t), writeCRL(t, impostor, e.clock.Now(), false)
		}, ErrBadSignature, wantRefused(ErrBadSignature)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.ca.CRLDistributionPoints = []string{deadURL(t)}
			o := Options{Mode: ModeCRL}
			leaf, file := tc.setup(t, e, &o)
			o.CRLFiles = []string{file}
			c := e.checker(t, o)
			if err := c.Start(bg()); !errors.Is(err, tc.startErr) || (err == nil) != (tc.startErr == nil) {
				t.Fatalf("Start = %v, want %v", err, tc.startErr)
			}
			r := c.Check(bg(), leaf, e.ca.Cert)
			tc.want.check(t, r)
			if r.Status != StatusUnavailable && r.Source != file {
				t.Errorf("source = %q, want %q", r.Source, file)
			}
		})
	}
}

// TestCRLFileReload: a file replaced on disk is re-read at the next
// refresh.
func TestCRLFileReload(t *testing.T) {
	e := newEnv(t)
	e.ca.CRLDistributionPoints = []string{}
	leaf := e.card(t)
	path := writeCRL(t, e.ca, e.clock.Now(), false)
	c := e.checker(t, Options{Mode: ModeCRL, CRLFiles: []string{path}})
	if err := c.Start(bg()); err != nil {
		t.Fatal(err)
	}
	wantGood.check(t, c.Check(bg(), leaf, e.ca.Cert))

	e.clock.Advance(time.Hour)
	e.ca.Revoke(leaf.SerialNumber, e.clock.Now(), 1)
	der, err := e.ca.CRL(e.clock.Now(), e.clock.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, der, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(bg()); err != nil {
		t.Fatal(err)
	}
	wantRevoked.check(t, c.Check(bg(), leaf, e.ca.Cert))
}

// TestCRLOverrides: Options.CRLURLs replaces an issuer's distribution
// points, keyed by SKI, subject or common name, and is fetched at Start.
func TestCRLOverrides(t *testing.T) {
	tests := []struct {
		name string
		key  func(ca *x509.Certificate) string
	}{
		{"ok/ski-hex-colons", func(ca *x509.Certificate) string {
			h := strings.ToUpper(hex.EncodeToString(ca.SubjectKeyId))
			var parts []string
			for i := 0; i < len(h); i += 2 {
				parts = append(parts, h[i:i+2])
			}
			return strings.Join(parts, ":")
		}},
		{"ok/subject", func(ca *x509.Certificate) string { return ca.Subject.String() }},
		{"ok/common-name", func(ca *x509.Certificate) string { return ca.Subject.CommonName }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			override := e.crlURL
			e.ca.CRLDistributionPoints = []string{deadURL(t)}
			leaf := e.revoked(t)
			c := e.checker(t, Options{Mode: ModeCRL, CRLURLs: map[string][]string{tc.key(e.ca.Cert): {override}}})
			if err := c.Start(bg()); err != nil {
				t.Fatal(err)
			}
			if n := e.crl.Requests(); n != 1 {
				t.Fatalf("Start made %d requests, want 1", n)
			}
			r := c.Check(bg(), leaf, e.ca.Cert)
			wantRevoked.check(t, r)
			if r.Source != override {
				t.Errorf("source %q", r.Source)
			}
		})
	}
}

// TestCRLPartition: a CRL scoped by an issuingDistributionPoint only
// vouches for cards naming that point.
func TestCRLPartition(t *testing.T) {
	e := newEnv(t)
	part := e.crlURL
	uri := []byte(part)
	dpn := append([]byte{0x86, byte(len(uri))}, uri...)
	dpn = append([]byte{0xa0, byte(len(dpn))}, dpn...)
	dpn = append([]byte{0xa0, byte(len(dpn))}, dpn...)
	idp := append([]byte{0x30, byte(len(dpn))}, dpn...)
	now := e.clock.Now()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: oidIssuingDP, Critical: true, Value: idp}},
	}, e.ca.Cert, e.ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	e.crl.SetOptions(cnstest.CRLServerOptions{Body: der})
	c := e.checker(t, Options{Mode: ModeCRL, CRLURLs: map[string][]string{e.ca.Cert.Subject.CommonName: {part}}})
	inScope := e.card(t)
	e.ca.CRLDistributionPoints = []string{"http://crl.example.test/part2.crl"}
	outOfScope := e.card(t)
	wantGood.check(t, c.Check(bg(), inScope, e.ca.Cert))
	wantRefused(ErrOutOfScope).check(t, c.Check(bg(), outOfScope, e.ca.Cert))
}

// TestCRLBackgroundRefresh: Start schedules refreshes before nextUpdate;
// a due one runs without any login.
func TestCRLBackgroundRefresh(t *testing.T) {
	e := newEnv(t)
	e.crl.SetOptions(cnstest.CRLServerOptions{Validity: 2 * time.Hour})
	c := e.checker(t, Options{Mode: ModeCRL, CRLRefreshInterval: 30 * time.Minute})
	leaf := e.card(t)
	wantGood.check(t, c.Check(bg(), leaf, e.ca.Cert))
	if err := c.Start(bg()); err != nil {
		t.Fatal(err)
	}
	c.tick() // nothing due yet
	if n := e.crl.Requests(); n != 1 {
		t.Fatalf("requests = %d before due", n)
	}
	e.clock.Advance(31 * time.Minute)
	e.ca.Revoke(leaf.SerialNumber, e.clock.Now(), 1)
	first := c.state(e.ca.Cert).crl.Load()
	c.tick()
	deadline := time.Now().Add(5 * time.Second)
	for c.state(e.ca.Cert).crl.Load() == first && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.crl.Requests(); n != 2 {
		t.Fatalf("requests = %d after due, want 2", n)
	}
	wantRevoked.check(t, c.Check(bg(), leaf, e.ca.Cert))
}

// TestCRLFailureBackoff: after a failed download, logins answer from the
// failure for a while instead of refetching.
func TestCRLFailureBackoff(t *testing.T) {
	e := newEnv(t)
	e.crl.SetOptions(cnstest.CRLServerOptions{HTTPStatus: http.StatusBadGateway})
	c := e.checker(t, Options{Mode: ModeCRL})
	leaf := e.card(t)
	wantNetworkErr.check(t, c.Check(bg(), leaf, e.ca.Cert))
	wantNetworkErr.check(t, c.Check(bg(), leaf, e.ca.Cert))
	if n := e.crl.Requests(); n != 1 {
		t.Fatalf("requests = %d, want 1", n)
	}
	e.crl.SetOptions(cnstest.CRLServerOptions{})
	e.clock.Advance(loginRetry + time.Second)
	wantGood.check(t, c.Check(bg(), leaf, e.ca.Cert))
}
