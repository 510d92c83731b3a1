package redisstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// roundTrips counts what a client sends: one per command or pipeline.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

var _ redis.Hook = (*roundTrips)(nil)

// TestCombinedRoundTrips checks that the store's Ephemeral answers
// sessions.RunWithSession and sessions.AddParticipantAndPut in one round
// trip each, also on a server that has lost its scripts (a restart, a
// failover to a replica that never saw them, SCRIPT FLUSH): a private
// redis-server, so that flushing disturbs no other test.
func TestCombinedRoundTrips(t *testing.T) {
	srv := sessionstest.StartRedisServer(t)
	c, err := redisstore.NewClient(redisstore.Options{Addrs: []string{srv.Addr}})
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
	id, err := st.Create(ctx, realSession("RSSMRA85T10A562S"), 15*time.Minute, 8*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var rt roundTrips
	c.AddHook(&rt)
	flush := func() {
		t.Helper()
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		rt.n.Store(0)
	}

	flush()
	p := sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni", SID: "s"}
	code := sessions.Entry{NS: "oidc.code", Key: "code", Val: []byte("grant"), TTL: time.Minute}
	if err := sessions.AddParticipantAndPut(ctx, st, eph, id, p, code); err != nil {
		t.Fatalf("AddParticipantAndPut after SCRIPT FLUSH: %v", err)
	}
	// Script.Run: EVALSHA refused, then EVAL (two); one with the script known.
	if n := rt.n.Load(); n > 2 {
		t.Errorf("AddParticipantAndPut after SCRIPT FLUSH took %d round trips", n)
	}
	rt.n.Store(0)
	if err := sessions.AddParticipantAndPut(ctx, st, eph, id, p, code); err != nil || rt.n.Load() != 1 {
		t.Errorf("AddParticipantAndPut: %v in %d round trips, want one", err, rt.n.Load())
	}

	ops := []sessions.Op{
		{Kind: sessions.OpPutNew, NS: "oidc.code.used", Key: "code", Val: []byte("family"), TTL: 10 * time.Minute},
		{Kind: sessions.OpDelete, NS: "oidc.code", Key: "code"},
		{Kind: sessions.OpGet, NS: "oidc.revoked", Key: "family"},
	}
	flush()
	r, err := sessions.RunWithSession(ctx, st, eph, sessions.HashKey(id), ops...)
	if err != nil || r.Err != nil || !r.Results[0].Stored || r.Session == nil {
		t.Fatalf("RunWithSession after SCRIPT FLUSH = %+v, %v; want stored and the session", r, err)
	}
	// The pipeline refused, the script loaded, the pipeline sent again (go-redis
	// also replaces the connection that saw the error).
	rt.n.Store(0)
	ops[0].Key = "code-2"
	r, err = sessions.RunWithSession(ctx, st, eph, sessions.HashKey(id), ops...)
	if err != nil || !r.Results[0].Stored || r.Session == nil || rt.n.Load() != 1 {
		t.Errorf("RunWithSession = %+v, %v in %d round trips, want one", r, err, rt.n.Load())
	}
	if len(r.Session.Participants) != 1 || r.Session.Participants[0].ClientID != "esenzioni" {
		t.Errorf("participants read back = %+v", r.Session.Participants)
	}
}

// TestCombinedOtherStore checks that the Ephemeral of one store never
// answers for another store (another prefix, another client): the helpers
// then fall back to one call after another, on the right store.
func TestCombinedOtherStore(t *testing.T) {
	c := testClient(t)
	a, b := newStore(t, c, redisstore.StoreOptions{}), newStore(t, c, redisstore.StoreOptions{})
	ctx := t.Context()
	id, err := b.Create(ctx, realSession("RSSMRA85T10A562S"), 15*time.Minute, 8*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sessions.RunWithSession(ctx, b, a.Ephemeral(), sessions.HashKey(id))
	if err != nil || r.Err != nil || r.Session == nil {
		t.Fatalf("RunWithSession with another store's Ephemeral = %+v, %v", r, err)
	}
	if _, handled, _ := a.Ephemeral().RunWithSession(ctx, b, sessions.HashKey(id)); handled {
		t.Fatal("the Ephemeral of one store answered for another")
	}
}
