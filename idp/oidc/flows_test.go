package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// claimsOf decodes a JWT's payload without verifying it (the verification
// is go-oidc's, in TestGoOIDCRelyingParty).
func claimsOf(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func headerOf(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

func TestFlows(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness, br *browser)
	}{
		{"ok/every-client-authentication-method", func(t *testing.T, h *harness, br *browser) {
			for _, client := range []string{"esenzioni", "post", "jwt-inline", "jwt-uri", "native"} {
				code, verifier := h.code(br, client)
				access, rt, _ := h.tokens(h.exchange(client, code, verifier))
				if h.userinfo(access) != http.StatusOK {
					t.Fatalf("%s: userinfo refused", client)
				}
				h.tokens(h.refresh(client, rt))
			}
		}},
		{"ok/access-token-is-opaque-by-default", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "esenzioni")
			access, rt, _ := h.tokens(h.exchange("esenzioni", code, verifier))
			raw, err := base64.RawURLEncoding.DecodeString(access)
			if err != nil || len(raw) < 32 || strings.Contains(access, ".") {
				t.Fatalf("access token %q is not at least 256 random bits of base64url: %v", access, err)
			}
			if access == rt {
				t.Fatal("access and refresh token are the same")
			}
			if h.userinfo(access) != http.StatusOK {
				t.Fatal("userinfo refused the opaque access token")
			}
			if h.userinfo(rt) != http.StatusUnauthorized {
				t.Fatal("userinfo took the refresh token as an access token")
			}
		}},
		{"ok/access-token-is-rfc9068-when-jwt", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "post")
			access, _, id := h.tokens(h.exchange("post", code, verifier))
			if typ := headerOf(t, access)["typ"]; typ != "at+jwt" {
				t.Fatalf("access token typ %v", typ)
			}
			c := claimsOf(t, access)
			for _, k := range []string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti", "scope", "auth_time", "acr", "amr"} {
				if c[k] == nil {
					t.Errorf("access token lacks %s: %v", k, c)
				}
			}
			if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 300 {
				t.Errorf("access token lives %vs", exp-iat)
			}
			if c["sub"] != claimsOf(t, id)["sub"] {
				t.Error("access and ID token subjects differ")
			}
		}},
		{"ok/scopes-and-subjects", func(t *testing.T, h *harness, br *browser) {
			// The test card is a citizen card: AnyCard lets its login carry the roles.
			if err := h.reg.PutOperator(context.Background(), registry.Operator{FiscalCode: citizenCF, Roles: []string{"asl-operatore"}, AnyCard: true}); err != nil {
				t.Fatal(err)
			}
			// Roles are read at login: log in again as an operator.
			_, challenge := newVerifier()
			br.authorize(h.authURL("esenzioni", challenge, url.Values{"prompt": {"login"}}))
			subs := map[string]string{}
			for _, client := range []string{"esenzioni", "post", "native"} {
				code, verifier := h.code(br, client)
				_, _, id := h.tokens(h.exchange(client, code, verifier))
				c := claimsOf(t, id)
				subs[client] = c["sub"].(string)
				_, hasCF := c["fiscal_number"]
				_, hasRoles := c["roles"]
				if client == "post" && (hasCF || hasRoles || c["given_name"] != "MARIO") {
					t.Errorf("post is allowed openid and profile only: %v", c)
				}
				if client == "esenzioni" && (c["fiscal_number"] != "TINIT-"+citizenCF || !hasRoles) {
					t.Errorf("esenzioni claims: %v", c)
				}
			}
			if subs["esenzioni"] == subs["post"] || subs["esenzioni"] == subs["native"] {
				t.Errorf("pairwise subjects are shared: %v", subs)
			}
			// A public subject is the same whatever the session.
			code, verifier := h.code(h.citizen(), "native")
			_, _, id := h.tokens(h.exchange("native", code, verifier))
			if claimsOf(t, id)["sub"] != subs["native"] {
				t.Error("the public subject changed between sessions")
			}
		}},
		{"ok/form-post", func(t *testing.T, h *harness, br *browser) {
			h.code(br, "esenzioni") // log in
			_, challenge := newVerifier()
			r := br.get(h.authURL("esenzioni", challenge, url.Values{"response_mode": {"form_post"}}))
			for _, want := range []string{`action="` + h.rp.srv.URL + `/cb/esenzioni"`, `name="code"`, `name="state" value="st-esenzioni"`, `name="iss"`, "<noscript>"} {
				if !strings.Contains(r.body, want) {
					t.Fatalf("form_post page lacks %q:\n%s", want, r.body)
				}
			}
		}},
		{"ok/prompt-none-with-session", func(t *testing.T, h *harness, br *browser) {
			h.code(br, "esenzioni")
			_, challenge := newVerifier()
			r := br.get(h.authURL("post", challenge, url.Values{"prompt": {"none"}}))
			if r.location == nil || r.location.Query().Get("code") == "" {
				t.Fatalf("prompt=none with a session: %d %v", r.status, r.location)
			}
		}},
		{"ok/prompt-login-and-max-age-ask-for-the-card", func(t *testing.T, h *harness, br *browser) {
			h.code(br, "esenzioni")
			_, challenge := newVerifier()
			for _, set := range []url.Values{{"prompt": {"login"}}, {"max_age": {"0"}}} {
				h.clock.Advance(time.Second)
				if r := br.get(h.authURL("esenzioni", challenge, set)); r.location != nil || !strings.Contains(r.body, "/cns/login?req=") {
					t.Fatalf("%v did not ask for the card: %d %v", set, r.status, r.location)
				}
			}
			if r := br.get(h.authURL("esenzioni", challenge, url.Values{"max_age": {"3600"}})); r.location == nil {
				t.Fatal("a recent login was not enough for max_age=3600")
			}
		}},
		{"ok/introspect-and-revoke-access-token", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "esenzioni")
			access, rt, _ := h.tokens(h.exchange("esenzioni", code, verifier))
			for _, tok := range []string{access, rt} {
				if _, body := h.postJSON("/introspect", url.Values{"token": {tok}}, "esenzioni", secretBasic); body["active"] != true || body["client_id"] != "esenzioni" {
					t.Fatalf("introspection of its own token: %v", body)
				}
				form := url.Values{"token": {tok}}
				h.authenticate("post", form)
				if _, body := h.postJSON("/introspect", form, "", ""); body["active"] != false {
					t.Fatalf("another client learnt about the token: %v", body)
				}
			}
			if st, _ := h.postJSON("/revoke", url.Values{"token": {access}}, "esenzioni", secretBasic); st != http.StatusOK {
				t.Fatalf("revoke: %d", st)
			}
			if h.userinfo(access) != http.StatusUnauthorized {
				t.Fatal("revoked access token honoured")
			}
			if _, body := h.postJSON("/introspect", url.Values{"token": {access}}, "esenzioni", secretBasic); body["active"] != false {
				t.Fatalf("revoked token active: %v", body)
			}
			h.tokens(h.refresh("esenzioni", rt)) // the refresh token lives on
			if st, _ := h.postJSON("/revoke", url.Values{"token": {"unknown"}}, "esenzioni", secretBasic); st != http.StatusOK {
				t.Fatalf("revoking an unknown token: %d", st)
			}
			if st, body := h.postJSON("/revoke", url.Values{"token": {access}}, "esenzioni", "wrong"); st != http.StatusUnauthorized {
				t.Fatalf("revoke without authentication: %d %v", st, body)
			}
		}},
		{"ok/introspect-and-revoke-jwt-access-token", func(t *testing.T, h *harness, br *browser) {
			code, verifier := h.code(br, "post") // access_token_format: jwt
			access, _, _ := h.tokens(h.exchange("post", code, verifier))
			call := func(path string) (int, map[string]any) {
				form := url.Values{"token": {access}}
				h.authenticate("post", form)
				return h.postJSON(path, form, "", "")
			}
			if _, body := call("/introspect"); body["active"] != true || body["client_id"] != "post" || body["token_type"] != "Bearer" {
				t.Fatalf("introspection of its own jwt access token: %v", body)
			}
			if _, body := h.postJSON("/introspect", url.Values{"token": {access}}, "esenzioni", secretBasic); body["active"] != false {
				t.Fatalf("another client learnt about the token: %v", body)
			}
			if st, _ := call("/revoke"); st != http.StatusOK {
				t.Fatalf("revoke: %d", st)
			}
			if h.userinfo(access) != http.StatusUnauthorized {
				t.Fatal("revoked jwt access token honoured")
			}
			if _, body := call("/introspect"); body["active"] != false {
				t.Fatalf("revoked jwt access token active: %v", body)
			}
		}},
		{"ok/jwks-uri-rotation", func(t *testing.T, h *harness, br *browser) {
			h.tokens(h.exchangeFresh(br, "jwt-uri")) // jwks_uri fetched and cached
			raw, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			h.clientKey, _ = jwk.FromRaw(raw)
			_ = jwk.AssignKeyID(h.clientKey)
			pub, _ := h.clientKey.PublicKey()
			set := jwk.NewSet()
			_ = set.AddKey(pub)
			b, _ := json.Marshal(set)
			h.rp.setJWKS(b)
			// Under a minute after the last fetch the new key is not
			// looked for; after it, it is.
			wantError(t, "invalid_client", func() (int, map[string]any) { return h.exchangeFresh(br, "jwt-uri") })
			h.clock.Advance(61 * time.Second)
			h.tokens(h.exchangeFresh(br, "jwt-uri"))
		}},
		{"ok/discovery-and-jwks", func(t *testing.T, h *harness, br *browser) {
			st, meta := h.getJSON("/.well-known/openid-configuration")
			if st != http.StatusOK || meta["issuer"] != h.public.URL || meta["backchannel_logout_supported"] != true ||
				meta["authorization_response_iss_parameter_supported"] != true {
				t.Fatalf("discovery: %d %v", st, meta)
			}
			if algs := fmt.Sprint(meta["id_token_signing_alg_values_supported"]); algs != "[RS256 PS256 ES256 RS512]" {
				t.Fatalf("id_token_signing_alg_values_supported: %s", algs)
			}
			_, jwks := h.getJSON("/jwks")
			keys, _ := jwks["keys"].([]any)
			var algs []string
			kids := map[any]bool{}
			for _, key := range keys {
				k := key.(map[string]any)
				if k["d"] != nil || k["p"] != nil || k["use"] != "sig" || k["kid"] == "" || kids[k["kid"]] {
					t.Fatalf("published key: %v", k)
				}
				kids[k["kid"]] = true
				algs = append(algs, fmt.Sprint(k["kty"], "/", k["alg"]))
			}
			if strings.Join(algs, " ") != "RSA/RS256 RSA/PS256 RSA/RS512 EC/ES256" {
				t.Fatalf("jwks: %v", algs)
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

// exchangeFresh authorizes client in the browser and redeems the code.
func (h *harness) exchangeFresh(br *browser, client string) (int, map[string]any) {
	code, verifier := h.code(br, client)
	return h.exchange(client, code, verifier)
}

func (h *harness) getJSON(path string) (int, map[string]any) {
	h.t.Helper()
	resp, err := h.httpClient().Get(h.public.URL + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
