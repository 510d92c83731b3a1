package oidc_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestForgedTokens: tampered tokens, alg none, and tokens of one kind used
// as another are refused everywhere.
func TestForgedTokens(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	br := h.citizen()
	code, verifier := h.code(br, "esenzioni")
	access, _, idToken := h.tokens(h.exchange("esenzioni", code, verifier))
	for name, tok := range map[string]string{
		"tampered-access":    tamper(access),
		"alg-none-access":    unsigned(access, "at+jwt"),
		"id-token-as-access": idToken,
		"garbage":            "not-a-token",
	} {
		t.Run("fail/userinfo-"+name, func(t *testing.T) {
			if got := h.userinfo(tok); got != http.StatusUnauthorized {
				t.Fatalf("userinfo answered %d", got)
			}
		})
	}
	for name, hint := range map[string]string{
		"tampered-hint":     tamper(idToken),
		"alg-none-hint":     unsigned(idToken, "JWT"),
		"access-as-id-hint": access,
	} {
		t.Run("fail/end-session-"+name, func(t *testing.T) {
			r := br.get(h.public.URL + "/logout?" + url.Values{"id_token_hint": {hint},
				"post_logout_redirect_uri": {h.rp.srv.URL + "/bye/esenzioni"}}.Encode())
			if r.status != http.StatusBadRequest || r.location != nil {
				t.Fatalf("end_session answered %d %v", r.status, r.location)
			}
		})
	}
	t.Run("fail/end-session-unregistered-redirect", func(t *testing.T) {
		r := br.get(h.public.URL + "/logout?" + url.Values{"id_token_hint": {idToken},
			"post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
		if r.status != http.StatusBadRequest || r.location != nil {
			t.Fatalf("end_session answered %d %v", r.status, r.location)
		}
	})
	if h.userinfo(access) != http.StatusOK {
		t.Fatal("the genuine access token was refused")
	}
}
