package oidc_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/oidc"
)

// TestRefreshReuseGrace: parallel refreshes of one token by its client get
// one successor within the grace window; another client, a late reuse, a
// session that ended or a grace turned off get nothing of it.
func TestRefreshReuseGrace(t *testing.T) {
	tests := []struct {
		name  string
		grace time.Duration
		run   func(t *testing.T, h *harness, rt string)
	}{
		{"ok/parallel-refreshes-share-one-successor", 0, func(t *testing.T, h *harness, rt string) {
			const n = 8
			bodies := make([]map[string]any, n)
			statuses := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					statuses[i], bodies[i] = h.refresh("esenzioni", rt)
				}()
			}
			close(start)
			wg.Wait()
			for i := range n {
				if statuses[i] != http.StatusOK || bodies[i]["refresh_token"] != bodies[0]["refresh_token"] || bodies[i]["id_token"] != bodies[0]["id_token"] {
					t.Fatalf("refresh %d: %d %v, first %v", i, statuses[i], bodies[i]["refresh_token"], bodies[0]["refresh_token"])
				}
			}
			h.clock.Advance(oidc.DefaultRefreshReuseGrace - time.Second)
			_, again := h.refresh("esenzioni", rt)
			if again["refresh_token"] != bodies[0]["refresh_token"] {
				t.Fatal("a reuse just within the window got another answer")
			}
			access, _ := bodies[0]["access_token"].(string)
			if h.userinfo(access) != http.StatusOK {
				t.Fatal("the shared access token is refused")
			}
			next, _ := bodies[0]["refresh_token"].(string)
			h.tokens(h.refresh("esenzioni", next))
			if got := h.rec.count(h.rec.reuse, "esenzioni/"+oidc.ReuseGraced); got != n {
				t.Fatalf("graced reuses counted: %d, want %d", got, n)
			}
		}},
		{"fail/reuse-past-the-window-revokes-the-family", 0, func(t *testing.T, h *harness, rt string) {
			_, rt2, _ := h.tokens(h.refresh("esenzioni", rt))
			h.clock.Advance(oidc.DefaultRefreshReuseGrace)
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("esenzioni", rt) })
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("esenzioni", rt2) })
			if got := h.rec.count(h.rec.reuse, "esenzioni/"+oidc.ReuseRevoked); got != 1 {
				t.Fatalf("revoking reuses counted: %d", got)
			}
		}},
		{"fail/another-client-gets-nothing", 0, func(t *testing.T, h *harness, rt string) {
			_, rt2, _ := h.tokens(h.refresh("esenzioni", rt))
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("post", rt) })
			h.tokens(h.refresh("esenzioni", rt2))
		}},
		{"fail/session-ended-within-the-window", 0, func(t *testing.T, h *harness, rt string) {
			h.tokens(h.refresh("esenzioni", rt))
			h.endSession(h.lastBrowser, url.Values{"client_id": {"esenzioni"}})
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("esenzioni", rt) })
		}},
		{"fail/grace-off-reuse-revokes-at-once", oidc.NoRefreshReuseGrace, func(t *testing.T, h *harness, rt string) {
			_, rt2, _ := h.tokens(h.refresh("esenzioni", rt))
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("esenzioni", rt) })
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("esenzioni", rt2) })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grace := tt.grace
			h := newHarness(t, harnessOptions{provider: func(o *oidc.Options) { o.RefreshReuseGrace = grace }})
			h.lastBrowser = h.citizen()
			_, rt, _ := h.tokens(h.exchangeFresh(h.lastBrowser, "esenzioni"))
			tt.run(t, h, rt)
		})
	}
}
