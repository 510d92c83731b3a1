package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/oidc"
)

// TestAuthorizeRefusals: an unknown client or redirect URI gets an error
// page and never a redirect; every other refusal goes back to the client
// with error, state and iss.
func TestAuthorizeRefusals(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	_, challenge := newVerifier()
	br := h.browser(nil)
	tests := []struct {
		name  string
		set   url.Values
		page  bool   // an error page, no redirect
		error string // the error sent back otherwise
	}{
		{"fail/unknown-client", url.Values{"client_id": {"nobody"}}, true, ""},
		{"fail/unregistered-redirect-uri", url.Values{"redirect_uri": {h.rp.srv.URL + "/elsewhere"}}, true, ""},
		{"fail/redirect-uri-prefix", url.Values{"redirect_uri": {h.rp.srv.URL + "/cb/esenzioni/x"}}, true, ""},
		{"fail/missing-redirect-uri", url.Values{"redirect_uri": {""}}, true, ""},
		{"fail/repeated-client-id", url.Values{"client_id": {"esenzioni", "post"}}, true, ""},
		{"fail/missing-pkce", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}, false, "invalid_request"},
		{"fail/plain-pkce", url.Values{"code_challenge_method": {"plain"}}, false, "invalid_request"},
		{"fail/pkce-method-missing", url.Values{"code_challenge_method": {""}}, false, "invalid_request"},
		{"fail/malformed-challenge", url.Values{"code_challenge": {"short"}}, false, "invalid_request"},
		{"fail/implicit-flow", url.Values{"response_type": {"id_token token"}}, false, "unsupported_response_type"},
		{"fail/no-openid-scope", url.Values{"scope": {"profile"}}, false, "invalid_scope"},
		{"fail/request-object-client-without-keys", url.Values{"request": {"eyJ..."}}, false, "invalid_request_object"},
		{"fail/bad-max-age", url.Values{"max_age": {"-1"}}, false, "invalid_request"},
		{"fail/bad-response-mode", url.Values{"response_mode": {"fragment"}}, false, "invalid_request"},
		{"fail/prompt-none-without-session", url.Values{"prompt": {"none"}}, false, "login_required"},
		{"fail/prompt-none-and-login", url.Values{"prompt": {"none login"}}, false, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := br.get(h.authURL("esenzioni", challenge, tt.set))
			if tt.page {
				if r.status != http.StatusBadRequest || r.location != nil || !strings.Contains(r.body, "Richiesta non valida") {
					t.Fatalf("want an error page, got %d %v", r.status, r.location)
				}
				return
			}
			if r.location == nil {
				t.Fatalf("no redirect: %d %s", r.status, r.body)
			}
			q := r.location.Query()
			if q.Get("error") != tt.error || q.Get("state") != "st-esenzioni" || q.Get("iss") != h.public.URL ||
				!strings.HasPrefix(r.location.String(), h.rp.srv.URL+"/cb/esenzioni?") {
				t.Fatalf("redirect %s, want error %s", r.location, tt.error)
			}
		})
	}
}

// TestTokenRefusals covers every refusal of the token endpoint and what a
// replay revokes.
func TestTokenRefusals(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness, br *browser)
	}{
		{"fail/wrong-verifier", func(t *testing.T, h *harness, br *browser) {
			code, _ := h.code(br, "esenzioni")
			other, _ := newVerifier()
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.exchange("esenzioni", code, other) })
		}},
		{"fail/missing-verifier", func(t *testing.T, h *harness, br *browser) {
			code, _ := h.code(br, "esenzioni")
			wantError(t, "invalid_request", func() (int, map[string]any) { return h.exchange("esenzioni", code, "") })
		}},
		{"fail/code-reuse-revokes-its-tokens", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "esenzioni")
			access, refresh, _ := h.tokens(h.exchange("esenzioni", code, verifier))
			if h.userinfo(access) != http.StatusOK {
				t.Fatal("fresh access token refused")
			}
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.exchange("esenzioni", code, verifier) })
			if h.userinfo(access) != http.StatusUnauthorized {
				t.Fatal("access token of a replayed code still honoured")
			}
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("esenzioni", refresh) })
		}},
		{"fail/code-from-another-client", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "esenzioni")
			wantError(t, "invalid_grant", func() (int, map[string]any) {
				return h.tokenCall("post", url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"code_verifier": {verifier}, "redirect_uri": {h.rp.srv.URL + "/cb/esenzioni"}})
			})
			// The rightful client can still redeem it.
			h.tokens(h.exchange("esenzioni", code, verifier))
		}},
		{"fail/expired-code", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "esenzioni")
			h.clock.Advance(61 * time.Second)
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.exchange("esenzioni", code, verifier) })
		}},
		{"fail/wrong-redirect-uri", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "esenzioni")
			wantError(t, "invalid_grant", func() (int, map[string]any) {
				return h.tokenCall("esenzioni", url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"code_verifier": {verifier}, "redirect_uri": {h.rp.srv.URL + "/cb/post"}})
			})
		}},
		{"fail/refresh-token-reuse-revokes-family", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "esenzioni")
			_, rt1, _ := h.tokens(h.exchange("esenzioni", code, verifier))
			access2, rt2, _ := h.tokens(h.refresh("esenzioni", rt1))
			// Past the reuse grace (oidc.DefaultRefreshReuseGrace).
			h.clock.Advance(oidc.DefaultRefreshReuseGrace)
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("esenzioni", rt1) })
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("esenzioni", rt2) })
			if h.userinfo(access2) != http.StatusUnauthorized {
				t.Fatal("access token of a revoked family still honoured")
			}
		}},
		{"fail/refresh-token-of-another-client", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "esenzioni")
			_, rt, _ := h.tokens(h.exchange("esenzioni", code, verifier))
			wantError(t, "invalid_grant", func() (int, map[string]any) { return h.refresh("post", rt) })
		}},
		{"fail/wrong-client-secret", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "esenzioni")
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
				"redirect_uri": {h.rp.srv.URL + "/cb/esenzioni"}}
			wantError(t, "invalid_client", func() (int, map[string]any) { return h.postJSON("/token", form, "esenzioni", "wrong") })
			// The secret in the body is not the registered method either.
			form.Set("client_id", "esenzioni")
			form.Set("client_secret", secretBasic)
			wantError(t, "invalid_client", func() (int, map[string]any) { return h.postJSON("/token", form, "", "") })
		}},
		{"fail/unknown-client", func(t *testing.T, h *harness, br *browser) {
			wantError(t, "invalid_client", func() (int, map[string]any) {
				return h.postJSON("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "nobody", "x")
			})
		}},
		{"fail/private-key-jwt-reused-jti", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "jwt-inline")
			assertion := h.assertion("jwt-inline", "jti-once", h.public.URL+"/token")
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
				"redirect_uri": {h.rp.srv.URL + "/cb/jwt-inline"}, "client_assertion": {assertion},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}
			h.tokens(h.postJSON("/token", form, "", ""))
			code2, verifier2 := h.code(br, "jwt-inline")
			form.Set("code", code2)
			form.Set("code_verifier", verifier2)
			wantError(t, "invalid_client", func() (int, map[string]any) { return h.postJSON("/token", form, "", "") })
		}},
		{"fail/private-key-jwt-wrong-audience", func(t *testing.T, h *harness, br *browser) {
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"},
				"client_assertion":      {h.assertion("jwt-inline", "jti-aud", "https://elsewhere.example")},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}
			wantError(t, "invalid_client", func() (int, map[string]any) { return h.postJSON("/token", form, "", "") })
		}},
		{"fail/public-client-with-secret", func(t *testing.T, h *harness, br *browser) {
			wantError(t, "invalid_client", func() (int, map[string]any) {
				return h.postJSON("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "native", "guess")
			})
		}},
		{"fail/unsupported-grant", func(t *testing.T, h *harness, br *browser) {
			wantError(t, "unsupported_grant_type", func() (int, map[string]any) {
				return h.tokenCall("esenzioni", url.Values{"grant_type": {"password"}})
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			tt.run(t, h, h.citizen())
		})
	}
}

// wantError checks an OAuth error response.
func wantError(t *testing.T, code string, call func() (int, map[string]any)) {
	t.Helper()
	status, body := call()
	if status < 400 || body["error"] != code {
		t.Fatalf("got %d %v, want error %s", status, body, code)
	}
}
