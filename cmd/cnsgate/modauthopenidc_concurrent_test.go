package main

import (
	"net/http"
	"sync"
	"testing"
)

// TestApacheModAuthOpenIDCConcurrentRefresh: parallel requests of one
// browser (a page and its assets) when the access token is in its last
// minute all make Apache refresh at once, with the same refresh token
// (mod_auth_openidc 2.4.12 does not serialise them). Each must get the
// application, and the citizen's session, at Apache and at cnsgate, must
// survive: a burst from one relying party is not a stolen token.
func TestApacheModAuthOpenIDCConcurrentRefresh(t *testing.T) {
	rp := startRefreshingApache(t)
	b := rp.browser(t)
	fn := "TINIT-" + rp.card.FiscalCode
	rp.login(t, b)
	logins := rp.metric(t, refreshedIssued)

	const parallel = 8
	codes := make([]int, parallel)
	var wg sync.WaitGroup
	for i := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := noRedirect(b).Get(rp.apache.origin + "/protected/whoami")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	t.Logf("%d parallel requests answered %v; %v refresh grants", parallel, codes, rp.metric(t, refreshedIssued)-logins)
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("parallel request %d answered %d instead of the application:\n%s", i, c, rp.apache.errorLog())
		}
	}
	if !rp.apacheSession(t, b) {
		t.Fatalf("the Apache session did not survive parallel refreshes:\n%s", rp.apache.errorLog())
	}
	if after := rp.whoami(t, fetch(t, b, "GET", rp.apache.origin+"/protected/whoami", nil, "")); after.Get("OIDC_CLAIM_fiscal_number") != fn {
		t.Fatalf("after the burst: %v", after)
	}
	mustContain(t, fetch(t, b, "GET", rp.s.cfg.Issuer+"/", nil, ""), "Servizi attivi")
}
