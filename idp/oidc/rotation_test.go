package oidc

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/signer"
	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

func testKey(t *testing.T, alg string, state signer.State, until time.Time) signer.Key {
	t.Helper()
	data, err := pemfile.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := signer.ParsePEM(data, alg+" "+string(state))
	if err != nil {
		t.Fatal(err)
	}
	return signer.Key{Signer: l, State: state, RetireAfter: until}
}

// TestKeyStates: a next key is published and does not sign; the active
// one signs; a retired one is published, verifies what it signed, and is
// dropped from /jwks (and from verification) at its RetireAfter. A reload
// that promotes next swaps the signer; one that changes the algorithms is
// refused and the keys in use stay.
func TestKeyStates(t *testing.T) {
	now := time.Now()
	clock := now
	p := &Provider{issuer: "https://login.example", now: func() time.Time { return clock }, readFile: func(string) ([]byte, error) { return nil, errors.New("no files") }}
	p.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	active, next := testKey(t, pemfile.AlgRS256, signer.StateActive, time.Time{}), testKey(t, pemfile.AlgRS256, signer.StateNext, time.Time{})
	ks, err := loadKeys(p.readFile, nil, []signer.Key{next, active}, now)
	if err != nil {
		t.Fatal(err)
	}
	p.ks.Store(ks)
	published, signing := p.KeyIDs()
	if signing[AlgRS256] != active.KeyID() || !slices.Contains(published, next.KeyID()) || len(published) != 4 {
		t.Fatalf("signing %v, published %v", signing, published)
	}
	old, err := p.sign("", typID, map[string]any{"iss": p.issuer, "exp": now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// Promote next; the old active key is retired for 10 minutes.
	active.State, active.RetireAfter, next.State = signer.StateRetired, now.Add(10*time.Minute), signer.StateActive
	if err := p.ReloadKeys(nil, []signer.Key{next, active}); err != nil {
		t.Fatal(err)
	}
	if _, signing = p.KeyIDs(); signing[AlgRS256] != next.KeyID() {
		t.Fatalf("after promotion signs %v", signing)
	}
	if _, err := p.verify(old, typID, true); err != nil {
		t.Fatalf("a token of the retired key: %v", err)
	}
	clock = now.Add(10 * time.Minute)
	if published, _ = p.KeyIDs(); slices.Contains(published, active.KeyID()) || len(published) != 2 {
		t.Fatalf("the retired key is still published past its retire_after: %v", published)
	}
	if _, err := p.verify(old, typID, false); !errors.Is(err, errBadToken) {
		t.Fatalf("a token of a dropped key verified: %v", err)
	}
	ec := testKey(t, pemfile.AlgES256, signer.StateActive, time.Time{})
	if err := p.ReloadKeys(nil, []signer.Key{next, ec}); !errors.Is(err, ErrReloadAlgs) {
		t.Fatalf("a reload adding ES256: %v", err)
	}
	if _, err := loadKeys(p.readFile, nil, []signer.Key{testKey(t, pemfile.AlgRS256, signer.StateNext, time.Time{})}, now); !errors.Is(err, ErrBadKey) {
		t.Fatalf("no active key: %v", err)
	}
}
