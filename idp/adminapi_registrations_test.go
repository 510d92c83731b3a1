package idp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestAdminRegistrationView: GET /admin/registrations over the network
// shows the citizen's cards and the consent given on the registration page
// (version, time, channel web); revoking the citizen's cards through the
// admin API records the consent withdrawn through channel admin-api. Both
// store pairs.
func TestAdminRegistrationView(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			h := newHarness(t, b, harnessOptions{consentVersion: "2026-03"})
			const token = "an-admin-token-of-at-least-32-characters"
			api, err := h.svc.AdminAPI(token, h.reg)
			if err != nil {
				t.Fatal(err)
			}
			admin := httptest.NewServer(idp.WithRequestInfo(api))
			defer admin.Close()
			card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: accountCF})
			br := h.browser(card)
			h.register(br)
			h.login(br)

			type view struct {
				Registrations []map[string]any `json:"registrations"`
				Consents      []map[string]any `json:"consents"`
			}
			get := func() view {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, admin.URL+"/admin/registrations?fiscal_code="+accountCF, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := admin.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var v view
				if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&v) != nil {
					t.Fatalf("GET /admin/registrations: %s", resp.Status)
				}
				return v
			}
			v := get()
			if len(v.Registrations) != 1 || v.Registrations[0]["status"] != "active" || len(v.Consents) != 1 {
				t.Fatalf("view %+v", v)
			}
			if c := v.Consents[0]; c["version"] != "2026-03" || c["channel"] != registry.ChannelWeb || c["given_at"] == "" || c["withdrawn_at"] != nil {
				t.Fatalf("consent in the view %+v", c)
			}

			req, _ := http.NewRequest(http.MethodPost, admin.URL+"/admin/registrations/revoke", jsonBody(`{"fiscal_code":"`+accountCF+`"}`))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := admin.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("revoke: %s", resp.Status)
			}
			v = get()
			if v.Registrations[0]["status"] != "revoked" || v.Consents[0]["withdrawn_channel"] != registry.ChannelAdminAPI || v.Consents[0]["withdrawn_at"] == nil {
				t.Fatalf("after the revocation %+v", v)
			}
			if ev, _ := h.reg.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindConsentWithdrawn, FiscalCode: accountCF}); len(ev) != 1 {
				t.Fatalf("consent_withdrawn audit events %+v", ev)
			}
		})
	}
}

func jsonBody(s string) *strings.Reader { return strings.NewReader(s) }
