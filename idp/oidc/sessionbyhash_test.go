package oidc_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// TestTokenCallsReadTheSessionByHash: on the real Redis, with the
// citizen's index (c:{…}) removed behind cnsgate's back, /token,
// /userinfo and /introspect still find the session, because they read it
// by its hash (Store.GetByHash) and never list the citizen's sessions.
// Ending the session still ends its tokens.
func TestTokenCallsReadTheSessionByHash(t *testing.T) {
	c, err := redisstore.NewClient(redisstore.Options{Addrs: []string{sessionstest.RedisAddr(t)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	prefix := fmt.Sprintf("cnsgate-oidc-test:%x:", suffix)
	var st *redisstore.Store
	h := newHarness(t, harnessOptions{sessions: func(t *testing.T) (sessions.Store, sessions.Ephemeral) {
		st, err = redisstore.New(c, redisstore.StoreOptions{Prefix: prefix, Now: time.Now})
		if err != nil {
			t.Fatal(err)
		}
		return st, st.Ephemeral()
	}})
	ctx := context.Background()
	br := h.citizen()
	code, verifier := h.code(br, "esenzioni")
	list, err := st.ListByFiscalCode(ctx, citizenCF)
	if err != nil || len(list) != 1 {
		t.Fatalf("the citizen's sessions: %d, %v", len(list), err)
	}
	hash := list[0].IDHash
	index := prefix + "c:{" + sessions.HashKey(citizenCF) + "}"
	if n, err := c.Del(ctx, index).Result(); err != nil || n != 1 {
		t.Fatalf("deleting the citizen's index %s: %d, %v", index, n, err)
	}
	access, rt, _ := h.tokens(h.exchange("esenzioni", code, verifier))
	if got := h.userinfo(access); got != http.StatusOK {
		t.Fatalf("userinfo answered %d without the citizen's index", got)
	}
	if _, body := h.postJSON("/introspect", map[string][]string{"token": {access}}, "esenzioni", secretBasic); body["active"] != true {
		t.Fatalf("introspection without the citizen's index: %v", body)
	}
	_, rt, _ = h.tokens(h.refresh("esenzioni", rt))

	if _, err := st.GetByHash(ctx, hash); err != nil {
		t.Fatalf("the session is not stored under its hash: %v", err)
	}
	if n, err := c.Del(ctx, prefix+"s:{"+hash+"}").Result(); err != nil || n != 1 {
		t.Fatalf("deleting the session: %d, %v", n, err)
	}
	if got := h.userinfo(access); got != http.StatusUnauthorized {
		t.Fatalf("userinfo answered %d after the session was gone", got)
	}
	if st, body := h.refresh("esenzioni", rt); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("refresh after the session was gone: %d %v", st, body)
	}
}
