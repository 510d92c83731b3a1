package oidc_test

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestCodeRedeemedOnceUnderRace attacks single use over the network: eight
// clients holding the same code (and its verifier) redeem it at once, on
// the memory store and on the real Redis, where the code's grant is
// swapped for its used marker in one command (SET ... GET). Exactly one
// gets tokens; every other gets invalid_grant, and since a second
// redemption means a copy is in the wrong hands, the winner's tokens are
// revoked too.
func TestCodeRedeemedOnceUnderRace(t *testing.T) {
	for _, tc := range []struct {
		name string
		real bool
	}{{"memory", false}, {"redis", true}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{realServers: tc.real})
			code, verifier := h.code(h.citizen(), "esenzioni")
			const n = 8
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				statuses = map[int]int{}
				won      []map[string]any
				refusals []any
			)
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					status, body := h.exchange("esenzioni", code, verifier)
					mu.Lock()
					defer mu.Unlock()
					statuses[status]++
					if status == http.StatusOK {
						won = append(won, body)
					} else {
						refusals = append(refusals, body["error"])
					}
				})
			}
			close(start)
			wg.Wait()
			if len(won) != 1 || statuses[http.StatusBadRequest] != n-1 {
				t.Fatalf("%d concurrent redemptions of one code answered %v, want one 200 and %d 400", n, statuses, n-1)
			}
			for _, e := range refusals {
				if e != "invalid_grant" {
					t.Fatalf("a losing redemption answered %v, want invalid_grant", e)
				}
			}
			access, refresh, _ := h.tokens(http.StatusOK, won[0])
			if got := h.userinfo(access); got != http.StatusUnauthorized {
				t.Errorf("the winner's access token answered %d after the code was replayed, want 401", got)
			}
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("esenzioni", refresh) })
		})
	}
}

// TestCodeSpentByEarlierReplica: during a rolling upgrade a code may have
// been redeemed by a replica of the earlier layout, which deleted the code
// and left its used marker under oidc.code.used. A replay reaching an
// upgraded replica still revokes the family.
func TestCodeSpentByEarlierReplica(t *testing.T) {
	for _, tc := range []struct {
		name string
		real bool
	}{{"memory", false}, {"redis", true}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{realServers: tc.real})
			code, verifier := h.code(h.citizen(), "esenzioni")
			access, _, _ := h.tokens(h.exchange("esenzioni", code, verifier))
			ctx, eph := t.Context(), h.env.Ephemeral
			marker, err := eph.Get(ctx, "oidc.code", code)
			if err != nil {
				t.Fatalf("the spent code's marker: %v", err)
			}
			// What the earlier layout leaves: no code, the marker aside.
			if err := eph.Delete(ctx, "oidc.code", code); err != nil {
				t.Fatal(err)
			}
			if err := eph.Put(ctx, "oidc.code.used", code, marker, 10*time.Minute); err != nil {
				t.Fatal(err)
			}
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.exchange("esenzioni", code, verifier) })
			if got := h.userinfo(access); got != http.StatusUnauthorized {
				t.Errorf("the access token answered %d after the replay, want 401", got)
			}
		})
	}
}
