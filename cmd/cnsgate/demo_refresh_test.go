package main

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestDemoEsenzioniRefresh runs `cnsgate demo` with access tokens of one
// second: the next page the citizen opens at Esenzioni after that makes it
// refresh its tokens at cnsgate (refresh_token grant, the new ID token
// verified by zitadel's rp: signature, sub, sid, at_hash, no nonce), and
// "Esci" then hints with the refreshed ID token, which cnsgate takes as
// naming the citizen's session.
func TestDemoEsenzioniRefresh(t *testing.T) {
	t.Setenv("CNSGATE_OIDC_ACCESS_TOKEN_LIFETIME", "1s")
	d := startDemo(t)
	b := d.browser(t, "citizen")
	citizen, _ := d.setup.Card("citizen")
	account := d.loginAtRP(t, b)
	mustContain(t, account, citizen.FiscalCode)
	if strings.Contains(d.stderr.String(), "esenzioni: tokens refreshed") {
		t.Fatal("refreshed before the access token expired")
	}

	time.Sleep(1500 * time.Millisecond)
	account = fetch(t, b, "GET", d.rpURL+"/", nil, "")
	mustContain(t, account, citizen.FiscalCode, "Esci")
	if !strings.Contains(d.stderr.String(), `msg="esenzioni: tokens refreshed" app=esenzioni`) {
		t.Fatalf("no refresh in the log:\n%s", d.stderr.String())
	}

	// cnsgate ends the session at once for an id_token_hint of this very
	// session: the refreshed ID token is one.
	out := fetch(t, b, "POST", d.rpURL+"/logout", url.Values{"csrf": {field(t, csrfFieldRE, account)}}, d.rpURL)
	if out.url.Path != "/logged-out" || !strings.HasPrefix(out.url.String(), d.rpURL) {
		t.Fatalf("logout ended at %s (%d):\n%s", out.url, out.code, out.body)
	}
	mustContain(t, out, "rimuovi la tessera")
}
