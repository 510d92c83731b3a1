package sessions_test

import (
	"context"
	"errors"
	"testing"
	"testing/iotest"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

func newMemory(t *testing.T, clock *sessionstest.Clock) (sessions.Store, sessions.Ephemeral) {
	m := sessions.NewMemory(sessions.MemoryOptions{Now: clock.Now, SweepInterval: time.Millisecond})
	t.Cleanup(func() { m.Close() })
	return m, m.Ephemeral()
}

func TestMemoryConformance(t *testing.T) {
	sessionstest.Run(t, newMemory)
}

func TestMemoryCreateRandFailure(t *testing.T) {
	m := sessions.NewMemory(sessions.MemoryOptions{
		Rand:          iotest.ErrReader(errors.New("entropy exhausted")),
		SweepInterval: -1,
	})
	defer m.Close()
	s := &sessions.Session{FiscalCode: "RSSMRA85T10A562S", CardFingerprint: sessions.HashKey("card")}
	if id, err := m.Create(context.Background(), s, time.Minute, time.Hour); err == nil || id != "" || s.ID != "" {
		t.Fatalf("Create with a failing Rand = %q, %v (ID %q); want an error and no id", id, err, s.ID)
	}
}

func TestMemoryCloseTwice(t *testing.T) {
	m := sessions.NewMemory(sessions.MemoryOptions{})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMemorySweep checks that the background sweep, not only lookups,
// removes expired sessions, their index entries and expired values.
func TestMemorySweep(t *testing.T) {
	ctx := t.Context()
	clock := sessionstest.NewClock(sessionstest.Epoch)
	m := sessions.NewMemory(sessions.MemoryOptions{Now: clock.Now, SweepInterval: time.Millisecond})
	defer m.Close()

	s := &sessions.Session{FiscalCode: "RSSMRA85T10A562S", CardFingerprint: sessions.HashKey("card")}
	if _, err := m.Create(ctx, s, time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := m.Ephemeral().Put(ctx, "handoff", "code", []byte("v"), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := m.Entries(); n != 4 {
		t.Fatalf("Memory holds %d entries, want 4 (session, 2 index entries, value)", n)
	}
	clock.Advance(2 * time.Minute)
	for deadline := time.Now().Add(5 * time.Second); m.Entries() != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sweep left %d entries", m.Entries())
		}
	}
}
