package sessions_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// TestMemoryEphemeralCap fills a capped namespace past its cap: the oldest
// values go first, the newest stay readable, other namespaces are untouched,
// and taking or expiring a value frees its place.
func TestMemoryEphemeralCap(t *testing.T) {
	ctx := t.Context()
	clock := sessionstest.NewClock(sessionstest.Epoch)
	m := sessions.NewMemory(sessions.MemoryOptions{Now: clock.Now, SweepInterval: -1, EphemeralLimits: map[string]int{"authz": 3}})
	defer m.Close()
	e := m.Ephemeral()
	if err := e.Put(ctx, "handoff", "h", []byte("h"), time.Minute); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := e.Put(ctx, "authz", fmt.Sprint("req-", i), []byte{byte(i)}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.Len("authz"); n != 3 {
		t.Fatalf("Len(authz) = %d, want the cap 3", n)
	}
	if n := e.Evicted("authz"); n != 2 {
		t.Fatalf("Evicted(authz) = %d, want 2", n)
	}
	for i := range 5 {
		_, err := e.Get(ctx, "authz", fmt.Sprint("req-", i))
		if old := i < 2; old != errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Get(req-%d) = %v; want evicted %v", i, err, old)
		}
	}
	if _, err := e.Get(ctx, "handoff", "h"); err != nil || e.Len("handoff") != 1 {
		t.Fatalf("uncapped namespace touched: %v, Len %d", err, e.Len("handoff"))
	}

	// Storing again under a live key refreshes it: req-2 is now the newest.
	if err := e.Put(ctx, "authz", "req-2", []byte("again"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Take(ctx, "authz", "req-3"); err != nil {
		t.Fatal(err)
	}
	if err := e.Put(ctx, "authz", "req-5", []byte{5}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, ev := e.Len("authz"), e.Evicted("authz"); n != 3 || ev != 2 {
		t.Fatalf("after a Take and a Put: Len %d, Evicted %d; want 3 and 2 (the taken value freed its place)", n, ev)
	}
	if err := e.Put(ctx, "authz", "req-6", []byte{6}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Get(ctx, "authz", "req-4"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("req-4, the oldest, survived: %v", err)
	}
	if _, err := e.Get(ctx, "authz", "req-2"); err != nil {
		t.Fatalf("req-2, refreshed, was evicted: %v", err)
	}

	clock.Advance(2 * time.Minute)
	for _, k := range []string{"req-2", "req-5", "req-6"} {
		if _, err := e.Get(ctx, "authz", k); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Get(%s) after its TTL = %v", k, err)
		}
	}
	if n := e.Len("authz"); n != 0 {
		t.Fatalf("Len(authz) after expiry = %d, want 0", n)
	}
}

func TestMemoryMaxValueBytes(t *testing.T) {
	m := sessions.NewMemory(sessions.MemoryOptions{SweepInterval: -1, MaxValueBytes: 8})
	defer m.Close()
	err := m.Ephemeral().Put(t.Context(), "authz", "k", []byte("123456789"), time.Minute)
	if !errors.Is(err, sessions.ErrTooLarge) || err.Error() != "sessions: value too large: 9 bytes, at most 8" {
		t.Fatalf("Put of 9 bytes with a bound of 8 = %v", err)
	}
}

// BenchmarkMemoryEphemeralPut measures what the cap costs on the hot path:
// a Put and a Take per login start, with and without a cap, the capped
// store kept full so that every Put also evicts.
func BenchmarkMemoryEphemeralPut(b *testing.B) {
	for _, c := range []struct {
		name   string
		limits map[string]int
	}{{"uncapped", nil}, {"capped-full", map[string]int{"authz": 1000}}} {
		b.Run(c.name, func(b *testing.B) {
			m := sessions.NewMemory(sessions.MemoryOptions{SweepInterval: -1, EphemeralLimits: c.limits})
			defer m.Close()
			e := m.Ephemeral()
			ctx := b.Context()
			val := make([]byte, 300)
			keys := make([]string, 4096)
			for i := range keys {
				keys[i] = fmt.Sprint("request-", i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := keys[i%len(keys)]
				if err := e.Put(ctx, "authz", k, val, time.Minute); err != nil {
					b.Fatal(err)
				}
				if i%2 == 0 {
					_, _ = e.Take(ctx, "authz", k)
				}
				i++
			}
		})
	}
}
