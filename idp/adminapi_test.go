package idp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// adminRecorder counts session ends and admin API calls.
type adminRecorder struct {
	countingRecorder
	mu    sync.Mutex
	ended map[string]int
	calls map[string]int // action/result
}

func (r *adminRecorder) SessionEnded(cause string) { r.mu.Lock(); r.ended[cause]++; r.mu.Unlock() }
func (r *adminRecorder) AdminRequest(action, result string) {
	r.mu.Lock()
	r.calls[action+"/"+result]++
	r.mu.Unlock()
}

func (r *adminRecorder) get(m map[string]int, k string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return m[k]
}

// TestAdminAPIOverTheNetwork serves the admin API on a loopback listener
// beside a running login service, on both store pairs: a card revoked by
// fingerprint ends its live session (cause admin), DELETE /admin/sessions
// ends the others, a wrong token changes nothing, and every call is
// counted and audited.
func TestAdminAPIOverTheNetwork(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			rec := &adminRecorder{ended: map[string]int{}, calls: map[string]int{}}
			h := newHarness(t, b, harnessOptions{recorder: rec})
			const token = "an-admin-token-of-at-least-32-characters"
			api, err := h.svc.AdminAPI(token, h.reg)
			if err != nil {
				t.Fatal(err)
			}
			admin := httptest.NewServer(idp.WithRequestInfo(api))
			defer admin.Close()
			if _, err := h.svc.AdminAPI("", h.reg); err == nil {
				t.Fatal("an empty token was accepted")
			}

			cf := "RSSMRA85T10A562S"
			_, _ = h.store.DeleteByFiscalCode(context.Background(), cf) // Redis: from an earlier run
			card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: cf})
			h.preRegister(card)
			first, second := h.browser(card), h.browser(card)
			h.login(first)
			h.login(second)

			call := func(method, path, auth, body string) (int, map[string]any) {
				t.Helper()
				req, _ := http.NewRequest(method, admin.URL+path, strings.NewReader(body))
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := admin.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var out map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&out)
				return resp.StatusCode, out
			}
			fpr := x509cns.Fingerprint(card.Cert)
			if code, _ := call("POST", "/admin/registrations/revoke", "Bearer wrong", `{"fingerprint":"`+fpr+`"}`); code != 401 {
				t.Fatalf("wrong token: %d", code)
			}
			if code, out := call("GET", "/admin/sessions?fiscal_code="+cf, "Bearer "+token, ""); code != 200 || len(out["sessions"].([]any)) != 2 {
				t.Fatalf("list: %d %v", code, out)
			}
			code, out := call("POST", "/admin/registrations/revoke", "Bearer "+token, `{"fingerprint":"`+strings.ToUpper(fpr)+`"}`)
			if code != 200 || out["revoked"] != 1.0 || out["sessions_ended"] != 2.0 {
				t.Fatalf("revoke card: %d %v", code, out)
			}
			third := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: cf})) // a new card registers and logs in
			h.register(third)
			h.login(third)
			if code, out := call("DELETE", "/admin/sessions?fiscal_code="+cf, "Bearer "+token, ""); code != 200 || out["sessions_ended"] != 1.0 {
				t.Fatalf("end sessions: %d %v", code, out)
			}
			if code, out := call("POST", "/admin/registrations/revoke", "Bearer "+token, `{"fingerprint":"`+fpr+`"}`); code != 404 || out["error"] != "not_registered" {
				t.Fatalf("revoke again: %d %v", code, out)
			}
			first.get(h.public.URL+"/").must(t, 200, "Accedi con TS/CNS")
			if n := rec.get(rec.ended, idp.CauseAdmin); n != 3 {
				t.Fatalf("sessions ended with cause admin: %d, want 3", n)
			}
			for k, want := range map[string]int{"revoke/unauthorized": 1, "revoke/success": 1, "revoke/not_found": 1,
				"list_sessions/success": 1, "end_sessions/success": 1} {
				if got := rec.get(rec.calls, k); got != want {
					t.Errorf("admin calls %s: %d, want %d", k, got, want)
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				events, err := h.reg.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindAdminRequest})
				if err == nil && len(events) == 5 {
					if events[len(events)-1].Reason != idp.AdminResultUnauthorized || events[len(events)-1].RemoteIP == "" {
						t.Fatalf("the refused call audited as %+v", events[len(events)-1])
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("admin audit events: %+v, %v", events, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
