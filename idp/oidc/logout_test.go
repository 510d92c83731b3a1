package oidc_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/oidc"
)

// TestLogout: however the session ends, its tokens die and every
// participating client hears of it on the back channel.
func TestLogout(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness, br *browser)
	}{
		{"ok/esci-reaches-every-client", func(t *testing.T, h *harness, br *browser) {
			_, rt1, _ := h.tokens(h.exchangeFresh(br, "esenzioni"))
			_, rt2, _ := h.tokens(h.exchangeFresh(br, "jwt-uri"))
			welcome := br.get(h.public.URL + "/")
			m := csrfRE.FindStringSubmatch(welcome.body)
			if m == nil {
				t.Fatalf("no logout form:\n%s", welcome.body)
			}
			br.post(h.public.URL+"/logout", url.Values{"csrf": {m[1]}})
			got := map[string]bool{}
			for range 2 {
				got[h.rp.logout(t).client] = true
			}
			if !got["esenzioni"] || !got["jwt-uri"] {
				t.Fatalf("back-channel logouts: %v", got)
			}
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("esenzioni", rt1) })
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("jwt-uri", rt2) })
		}},
		{"ok/tokens-die-with-an-idle-session", func(t *testing.T, h *harness, br *browser) {
			access, rt, _ := h.tokens(h.exchangeFresh(br, "esenzioni"))
			h.clock.Advance(16 * time.Minute)
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("esenzioni", rt) })
			if h.userinfo(access) != http.StatusUnauthorized {
				t.Fatal("access token of an expired session honoured")
			}
		}},
		{"ok/backchannel-retries", func(t *testing.T, h *harness, br *browser) {
			h.exchangeFresh(br, "esenzioni")
			h.rp.script(http.StatusServiceUnavailable, http.StatusInternalServerError)
			h.endSession(br, url.Values{"client_id": {"esenzioni"}})
			if got := h.rp.logout(t); got.client != "esenzioni" {
				t.Fatalf("delivered to %s", got.client)
			}
			waitCount(t, h, oidc.ResultOK, 1)
		}},
		{"ok/backchannel-refused-is-not-retried", func(t *testing.T, h *harness, br *browser) {
			h.exchangeFresh(br, "esenzioni")
			h.rp.script(http.StatusBadRequest, http.StatusBadRequest)
			h.endSession(br, nil)
			waitCount(t, h, oidc.ResultFailed, 1)
			h.rp.mu.Lock()
			left := len(h.rp.statuses)
			h.rp.mu.Unlock()
			if left != 1 {
				t.Fatalf("a refused logout token was sent again (%d scripted answers left)", left)
			}
		}},
		{"ok/end-session-with-client-id", func(t *testing.T, h *harness, br *browser) {
			h.exchangeFresh(br, "post")
			loc := h.endSession(br, url.Values{"client_id": {"post"}, "post_logout_redirect_uri": {h.rp.srv.URL + "/bye/post"}})
			if loc == nil || loc.Path != "/bye/post" || loc.RawQuery != "" {
				t.Fatalf("after logout: %v", loc)
			}
		}},
		{"ok/plain-logout-is-left-to-idp", func(t *testing.T, h *harness, br *browser) {
			h.exchangeFresh(br, "post")
			if r := br.get(h.public.URL + "/logout"); r.status != http.StatusOK || csrfRE.FindString(r.body) == "" {
				t.Fatalf("GET /logout: %d", r.status)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			tt.run(t, h, h.citizen())
		})
	}
}

// endSession sends an RP-initiated logout with params, confirms it, and
// returns where the browser was sent.
func (h *harness) endSession(br *browser, params url.Values) *url.URL {
	h.t.Helper()
	u := h.public.URL + "/logout"
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	confirm := br.get(u)
	m := csrfRE.FindStringSubmatch(confirm.body)
	if m == nil {
		h.t.Fatalf("end_session: %d\n%s", confirm.status, confirm.body)
	}
	return br.post(h.public.URL+"/logout", url.Values{"csrf": {m[1]}}).location
}

// waitCount waits for n back-channel logouts counted with result.
func waitCount(t *testing.T, h *harness, result string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.rec.count(h.rec.logout, oidc.NotificationBackchannel+"/"+result) != n {
		if time.Now().After(deadline) {
			t.Fatalf("back-channel %s count: %d, want %d", result, h.rec.count(h.rec.logout, oidc.NotificationBackchannel+"/"+result), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !slices.Contains([]string{oidc.ResultOK, oidc.ResultFailed}, result) {
		t.Fatalf("unknown result %s", result)
	}
}
