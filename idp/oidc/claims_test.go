package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// payload returns the claims of a compact JWS, unverified (the tests of
// signatures are elsewhere).
func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// userinfoJSON calls /userinfo with an access token and decodes its JSON.
func (h *harness) userinfoJSON(access string) map[string]any {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.public.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := h.httpClient().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		h.t.Fatalf("userinfo answered %d", resp.StatusCode)
	}
	return out
}

// TestClaimsParameter: a relying party asks for fiscal_number alone with
// the claims parameter (OpenID Connect Core 5.5) and scope openid, in the
// ID token or in userinfo as it says; a client whose registration does not
// allow the fiscal_number scope does not get it that way either; a
// malformed claims parameter is refused with the reason. Discovery says
// so truthfully.
func TestClaimsParameter(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	st, meta := h.getJSON("/.well-known/openid-configuration")
	if st != http.StatusOK || meta["claims_parameter_supported"] != true ||
		fmt.Sprint(meta["scopes_supported"]) != "[openid profile fiscal_number roles offline_access]" ||
		!strings.Contains(fmt.Sprint(meta["claims_supported"]), "fiscal_number") {
		t.Fatalf("discovery: %v", meta)
	}
	br := h.citizen()
	has := func(m map[string]any, names ...string) string {
		var out []string
		for _, n := range names {
			if _, ok := m[n]; ok {
				out = append(out, n)
			}
		}
		return strings.Join(out, " ")
	}
	userClaims := []string{"fiscal_number", "given_name", "family_name", "card_id", "region", "roles"}
	for _, tt := range []struct {
		name, client, scope, claims string
		inID, inUserinfo            string // user claims present
	}{
		{"ok/fiscal-number-in-id-token", "esenzioni", "openid", `{"id_token":{"fiscal_number":null}}`, "fiscal_number", ""},
		{"ok/fiscal-number-in-userinfo", "esenzioni", "openid", `{"userinfo":{"fiscal_number":{"essential":true}}}`, "", "fiscal_number"},
		{"ok/both-and-unknown-ignored", "esenzioni", "openid", `{"id_token":{"fiscal_number":null,"email":null},"userinfo":{"given_name":null}}`, "fiscal_number", "given_name"},
		{"ok/scope-and-claims", "esenzioni", "openid profile", `{"id_token":{"fiscal_number":{"essential":true,"value":"x"}}}`,
			"fiscal_number given_name family_name card_id region", "given_name family_name card_id region"},
		{"ok/not-allowed-for-client", "post", "openid", `{"id_token":{"fiscal_number":null,"given_name":null}}`, "given_name", ""},
		{"ok/none", "esenzioni", "openid", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			verifier, challenge := newVerifier()
			loc := br.authorize(h.authURL(tt.client, challenge, url.Values{"scope": {tt.scope}, "claims": {tt.claims}}))
			code := loc.Query().Get("code")
			if code == "" {
				t.Fatalf("no code: %s", loc)
			}
			access, _, id := h.tokens(h.exchange(tt.client, code, verifier))
			if got := has(payload(t, id), userClaims...); got != tt.inID {
				t.Fatalf("ID token user claims %q, want %q", got, tt.inID)
			}
			if got := has(h.userinfoJSON(access), userClaims...); got != tt.inUserinfo {
				t.Fatalf("userinfo user claims %q, want %q", got, tt.inUserinfo)
			}
		})
	}
	for _, tt := range []struct{ name, claims, want string }{
		{"fail/not-json", `fiscal_number`, "claims is not a JSON object"},
		{"fail/array", `["fiscal_number"]`, "claims is not a JSON object"},
		{"fail/member-not-object", `{"id_token":["fiscal_number"]}`, "claims: id_token is not a JSON object"},
		{"fail/entry-not-object", `{"userinfo":{"fiscal_number":true}}`, "claims: userinfo.fiscal_number must be null or an object"},
		{"fail/trailing", `{"id_token":{}} {}`, "claims is not a JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, challenge := newVerifier()
			loc := br.authorize(h.authURL("esenzioni", challenge, url.Values{"claims": {tt.claims}}))
			if q := loc.Query(); q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), tt.want) {
				t.Fatalf("refusal: %s", loc)
			}
		})
	}
}

// TestAuthorizationResponseISS: RFC 9207 iss is in every authorization
// response, codes and refusals, except for a client that registered
// authorization_response_iss: false.
func TestAuthorizationResponseISS(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	br := h.citizen()
	for _, tt := range []struct {
		client string
		iss    bool
	}{{"native", true}, {"noiss", false}} {
		for _, refused := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/refused=%v", tt.client, refused), func(t *testing.T) {
				_, challenge := newVerifier()
				set := url.Values{}
				if refused {
					set.Set("scope", "profile") // no openid
				}
				q := br.authorize(h.authURL(tt.client, challenge, set)).Query()
				if refused != (q.Get("error") != "") || (!refused && q.Get("code") == "") || q.Get("state") != "st-"+tt.client {
					t.Fatalf("authorization response: %v", q)
				}
				if got := q.Has("iss"); got != tt.iss || (tt.iss && q.Get("iss") != h.public.URL) {
					t.Fatalf("iss %q present=%v, want present=%v", q.Get("iss"), got, tt.iss)
				}
			})
		}
	}
}
