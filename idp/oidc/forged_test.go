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
	access, rt, idToken := h.tokens(h.exchange("esenzioni", code, verifier))
	code, verifier = h.code(br, "post") // access_token_format: jwt
	jwtAccess, _, _ := h.tokens(h.exchange("post", code, verifier))
	for name, tok := range map[string]string{
		"tampered-access":        tamper(jwtAccess),
		"alg-none-access":        unsigned(jwtAccess, "at+jwt"),
		"id-token-as-access":     idToken,
		"garbage":                "not-a-token",
		"tampered-opaque-access": flipLast(access),
		"refresh-as-access":      rt,
		"opaque-with-padding":    access + "=",
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
	for _, tok := range []string{access, jwtAccess} {
		if h.userinfo(tok) != http.StatusOK {
			t.Fatal("the genuine access token was refused")
		}
	}
}

// flipLast changes the last character of a token.
func flipLast(token string) string {
	if token[len(token)-1] == 'A' {
		return token[:len(token)-1] + "B"
	}
	return token[:len(token)-1] + "A"
}
