package main

import (
	"testing"
)

// refreshedIssued is the sample of the refresh tokens cnsgate issued to
// the Apache client: one per login, one per refresh grant.
const refreshedIssued = `cnsgate_tokens_issued_total{client="` + apacheClientID + `",kind="refresh"}`

// startRefreshingApache is startApacheRP with access tokens of 30 s and the
// guide's refresh block (OIDCRefreshAccessTokenBeforeExpiry 60): every
// request makes Apache use its refresh token.
func startRefreshingApache(t *testing.T) *apacheRP {
	t.Helper()
	return startApacheRP(t, "  access_token_lifetime: 30s\n", docSnippet(t, "mod_auth_openidc refresh"))
}

// TestApacheModAuthOpenIDCRefresh: with the guide's refresh block, each
// request (one at a time) rotates the refresh token and hands the
// application a new access token, for the same citizen, and the session
// lives on at Apache and at cnsgate.
func TestApacheModAuthOpenIDCRefresh(t *testing.T) {
	rp := startRefreshingApache(t)
	b := rp.browser(t)
	fn := "TINIT-" + rp.card.FiscalCode

	h := rp.login(t, b)
	logins := rp.metric(t, refreshedIssued)
	access, refresh := h.Get("OIDC_access_token"), h.Get("OIDC_refresh_token")
	const requests = 3
	for i := range requests {
		next := rp.whoami(t, fetch(t, b, "GET", rp.apache.origin+"/protected/whoami", nil, ""))
		if next.Get("OIDC_access_token") == access || next.Get("OIDC_refresh_token") == refresh || next.Get("OIDC_CLAIM_fiscal_number") != fn {
			t.Fatalf("request %d: Apache did not refresh the tokens:\n%s", i, rp.apache.errorLog())
		}
		access, refresh = next.Get("OIDC_access_token"), next.Get("OIDC_refresh_token")
	}
	if got := rp.metric(t, refreshedIssued) - logins; got != requests {
		t.Fatalf("%v refresh grants for %d requests", got, requests)
	}
	mustContain(t, fetch(t, b, "GET", rp.s.cfg.Issuer+"/", nil, ""), "Servizi attivi")
}
