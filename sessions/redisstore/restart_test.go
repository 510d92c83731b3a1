package redisstore_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// TestRedisRestart kills the test's own redis-server under a working store,
// checks that every method fails promptly with a wrapped error (and none
// reports ErrNotFound or panics), restarts the server on the same port and
// checks that the same store works again: go-redis reconnects by itself.
func TestRedisRestart(t *testing.T) {
	srv := sessionstest.StartRedisServer(t)
	c, err := redisstore.NewClient(redisstore.Options{
		Addrs:        []string{srv.Addr},
		DialTimeout:  200 * time.Millisecond,
		ReadTimeout:  200 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond,
		MaxRetries:   -1,
		DialAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	st, err := redisstore.New(c, redisstore.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eph := st.Ephemeral()
	ctx := t.Context()

	const cf = "RSSMRA85T10A562S"
	id, err := st.Create(ctx, realSession(cf), 15*time.Minute, 8*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := eph.Put(ctx, "handoff", "code", []byte("v"), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	oidc := sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni"}
	for _, m := range []struct {
		name string
		call func() error
	}{
		{"Create", func() error { _, err := st.Create(ctx, realSession(cf), time.Minute, time.Hour); return err }},
		{"Get", func() error { _, err := st.Get(ctx, id); return err }},
		{"Touch", func() error { return st.Touch(ctx, id) }},
		{"AddParticipant", func() error { return st.AddParticipant(ctx, id, oidc) }},
		{"Delete", func() error { _, err := st.Delete(ctx, id); return err }},
		{"ListByFiscalCode", func() error { _, err := st.ListByFiscalCode(ctx, cf); return err }},
		{"DeleteByFiscalCode", func() error { _, err := st.DeleteByFiscalCode(ctx, cf); return err }},
		{"DeleteByCard", func() error { _, err := st.DeleteByCard(ctx, sessions.HashKey("card of "+cf)); return err }},
		{"Ping", func() error { return st.Ping(ctx) }},
		{"Ephemeral.Put", func() error { return eph.Put(ctx, "handoff", "code", []byte("v"), time.Minute) }},
		{"Ephemeral.PutNew", func() error { _, err := eph.PutNew(ctx, "samlid", "_r", []byte("v"), time.Minute); return err }},
		{"Ephemeral.Get", func() error { _, err := eph.Get(ctx, "handoff", "code"); return err }},
		{"Ephemeral.Take", func() error { _, err := eph.Take(ctx, "handoff", "code"); return err }},
		{"Ephemeral.Delete", func() error { return eph.Delete(ctx, "handoff", "code") }},
	} {
		t.Run("down/"+m.name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panicked with Redis down: %v", p)
				}
			}()
			start := time.Now()
			err := m.call()
			elapsed := time.Since(start)
			switch {
			case err == nil:
				t.Fatal("no error with Redis down")
			case errors.Is(err, sessions.ErrNotFound) || errors.Is(err, sessions.ErrExpired):
				t.Fatalf("outage reported as %v", err)
			case !strings.HasPrefix(err.Error(), "sessions: redis: "):
				t.Fatalf("error %q is not wrapped as a Redis error", err)
			case elapsed > 2*time.Second:
				t.Fatalf("took %s to fail", elapsed)
			}
		})
	}

	srv.Start()
	eventually(t, 10*time.Second, "the store did not reconnect", func() bool { return st.Ping(ctx) == nil })
	// Nothing survives the restart (--save ""): the old session is simply gone.
	if _, err := st.Get(ctx, id); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Get of a session from before the restart: %v, want ErrNotFound", err)
	}
	if _, err := eph.Take(ctx, "handoff", "code"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Take of a code from before the restart: %v, want ErrNotFound", err)
	}
	id2, err := st.Create(ctx, realSession(cf), 15*time.Minute, 8*time.Hour)
	if err != nil {
		t.Fatalf("Create after the restart: %v", err)
	}
	if err := st.AddParticipant(ctx, id2, oidc); err != nil {
		t.Fatalf("AddParticipant after the restart: %v", err)
	}
	if del, err := st.DeleteByFiscalCode(ctx, cf); err != nil || len(del) != 1 || len(del[0].Participants) != 1 {
		t.Fatalf("DeleteByFiscalCode after the restart: %v, %v", del, err)
	}
	if ok, err := eph.PutNew(ctx, "samlid", "_r", []byte("v"), time.Minute); !ok || err != nil {
		t.Fatalf("PutNew after the restart: %t, %v", ok, err)
	}
}
