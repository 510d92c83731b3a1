package idp_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
)

// listedCards is a RevocationCache listing serials (of any issuer).
type listedCards map[string]bool

func (l listedCards) CardRevoked(_, _, serial string) (bool, bool) { return l[serial], true }

// endCounter counts ended sessions by cause.
type endCounter struct {
	idp.NopRecorder
	mu    sync.Mutex
	ended map[string]int
}

func (c *endCounter) SessionEnded(cause string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended[cause]++
}

func (c *endCounter) count(cause string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended[cause]
}

// flakyStore fails DeleteByCard while failures is positive, as a hung
// Redis does.
type flakyStore struct {
	sessions.Store
	failures atomic.Int32
	calls    atomic.Int32
}

func (f *flakyStore) DeleteByCard(ctx context.Context, fp string) ([]*sessions.Session, error) {
	f.calls.Add(1)
	if f.failures.Add(-1) >= 0 {
		return nil, errors.New("redis: i/o timeout")
	}
	return f.Store.DeleteByCard(ctx, fp)
}

// cardRegistry answers List with the registration of one card.
type cardRegistry struct {
	idp.Registry
	reg registry.Registration
}

func (r cardRegistry) List(_ context.Context, f registry.ListFilter) ([]registry.Registration, error) {
	if f.Issuer == r.reg.Issuer && f.Serial == r.reg.Serial {
		return []registry.Registration{r.reg}, nil
	}
	return nil, nil
}

func revokedService(t *testing.T, store sessions.Store, cache idp.RevocationCache, reg idp.Registry) (*idp.Service, *endCounter) {
	t.Helper()
	rec := &endCounter{ended: map[string]int{}}
	svc := idp.NewService(idp.Deps{Sessions: store, Registry: reg, Recorder: rec, Revocation: cache}, idp.Options{Issuer: "https://idp.example"})
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	return svc, rec
}

func createCard(t *testing.T, st sessions.Store, serial string) string {
	t.Helper()
	id, err := st.Create(context.Background(), &sessions.Session{
		FiscalCode: "RSSMRA85T10A562S", CardFingerprint: sessions.HashKey("card " + serial), CardSerial: serial, Issuer: "Toscana CA",
	}, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestSweepRevokedEndsOnlyListedCards: the sweep at an issuer's first CRL
// ends the sessions of the cards the cache lists, of that issuer only.
func TestSweepRevokedEndsOnlyListedCards(t *testing.T) {
	mem := sessions.NewMemory(sessions.MemoryOptions{SweepInterval: -1})
	revoked, good := createCard(t, mem, "0a"), createCard(t, mem, "0b")
	svc, rec := revokedService(t, mem, listedCards{"0a": true}, nil)
	svc.SweepRevoked(context.Background(), "Another CA")
	if rec.count(idp.CauseRevoked) != 0 {
		t.Fatal("the sweep of another issuer ended a session")
	}
	svc.SweepRevoked(context.Background(), "Toscana CA")
	if _, err := mem.Get(context.Background(), revoked); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("the revoked card's session: %v", err)
	}
	if _, err := mem.Get(context.Background(), good); err != nil {
		t.Fatalf("the good card's session: %v", err)
	}
	if n := rec.count(idp.CauseRevoked); n != 1 {
		t.Fatalf("ended as revoked: %d", n)
	}
}

// TestCardsRevokedRetries: a store that fails twice delays the end of the
// revoked card's sessions, never loses it; a store that never recovers is
// given up only when the context ends (shutdown).
func TestCardsRevokedRetries(t *testing.T) {
	reg := cardRegistry{reg: registry.Registration{Issuer: "Toscana CA", Serial: "0a", Fingerprint: sessions.HashKey("card 0a")}}
	t.Run("ok/after-two-failures", func(t *testing.T) {
		st := &flakyStore{Store: sessions.NewMemory(sessions.MemoryOptions{SweepInterval: -1})}
		id := createCard(t, st, "0a")
		st.failures.Store(2)
		svc, rec := revokedService(t, st, nil, reg)
		svc.CardsRevoked(context.Background(), "Toscana CA", []string{"0a"})
		if _, err := st.Get(context.Background(), id); !errors.Is(err, sessions.ErrNotFound) || st.calls.Load() != 3 {
			t.Fatalf("session %v after %d attempts", err, st.calls.Load())
		}
		if rec.count(idp.CauseRevoked) != 1 {
			t.Fatal("the end was not counted")
		}
	})
	t.Run("fail/stops-at-shutdown", func(t *testing.T) {
		st := &flakyStore{Store: sessions.NewMemory(sessions.MemoryOptions{SweepInterval: -1})}
		st.failures.Store(1 << 30)
		svc, _ := revokedService(t, st, nil, reg)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { svc.CardsRevoked(ctx, "Toscana CA", []string{"0a"}); close(done) }()
		deadline := time.Now().Add(5 * time.Second)
		for st.calls.Load() < 2 {
			if time.Now().After(deadline) {
				t.Fatal("no retry")
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("CardsRevoked did not stop when its context ended")
		}
	})
}

// TestSessionUsableOldSession: a session stored before the issuer's key id
// was kept is still judged (by the CA's name); one without a card serial
// is left alone.
func TestSessionUsableOldSession(t *testing.T) {
	mem := sessions.NewMemory(sessions.MemoryOptions{SweepInterval: -1})
	svc, _ := revokedService(t, mem, listedCards{"0a": true}, nil)
	id := createCard(t, mem, "0a")
	sess, err := mem.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SessionUsable(context.Background(), sess); !errors.Is(err, idp.ErrSessionRevoked) {
		t.Fatalf("SessionUsable of a revoked card: %v", err)
	}
	if err := svc.SessionUsable(context.Background(), &sessions.Session{FiscalCode: "X"}); err != nil {
		t.Fatalf("SessionUsable without a card serial: %v", err)
	}
}
