package oidc_test

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// TestProfileDiscovery: the running provider's discovery document carries
// what an RP of the SPID/CIE rules reads: request objects (signed, never
// none or HMAC), the levels configured, the encryption algorithms,
// RS256, RS512, PS256 and ES256, offline_access and prompt consent.
func TestProfileDiscovery(t *testing.T) {
	h, _ := profileHarness(t, false)
	st, meta := h.getJSON("/.well-known/openid-configuration")
	if st != http.StatusOK || meta["request_parameter_supported"] != true || meta["request_uri_parameter_supported"] != false {
		t.Fatalf("discovery: %d %v", st, meta)
	}
	list := func(k string) []string {
		var out []string
		for _, v := range meta[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	want := map[string][]string{
		"request_object_signing_alg_values_supported": {"RS256", "RS512", "PS256", "ES256"},
		"acr_values_supported":                        {"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI", levelL2},
		"id_token_signing_alg_values_supported":       {"RS256", "RS512", "PS256", "ES256"},
		"userinfo_signing_alg_values_supported":       {"RS256", "RS512", "PS256", "ES256"},
		"userinfo_encryption_alg_values_supported":    {"RSA-OAEP-256", "RSA-OAEP"},
		"userinfo_encryption_enc_values_supported":    {"A128CBC-HS256", "A256CBC-HS512"},
		"id_token_encryption_alg_values_supported":    {"RSA-OAEP-256", "RSA-OAEP"},
		"id_token_encryption_enc_values_supported":    {"A128CBC-HS256", "A256CBC-HS512"},
		"scopes_supported":                            {"openid", "profile", "offline_access"},
		"prompt_values_supported":                     {"consent", "login"},
		"claims_supported":                            {nsFiscal, "jti", "acr"},
	}
	for k, values := range want {
		got := list(k)
		for _, v := range values {
			if !slices.Contains(got, v) {
				t.Errorf("%s = %v lacks %s", k, got, v)
			}
		}
	}
	// none is listed (unsigned request objects of plain clients, which
	// RFC 8414 and Authlib's metadata check expect); spid and cie clients
	// are refused one (TestProfileRefusals/unsigned), and request
	// authentication never takes it.
	for _, bad := range []string{"HS256", "HS384", "HS512"} {
		if slices.Contains(list("request_object_signing_alg_values_supported"), bad) {
			t.Errorf("request objects accepted with %s", bad)
		}
	}
	if got := list("request_authentication_signing_alg_values_supported"); slices.Contains(got, "none") || !slices.Contains(got, "RS256") {
		t.Errorf("request_authentication_signing_alg_values_supported = %v; want RS256 and never none", got)
	}
	if m, _ := meta["request_authentication_methods_supported"].(map[string]any); fmt.Sprint(m["authorization_endpoint"]) != "[request_object]" {
		t.Errorf("request_authentication_methods_supported = %v", meta["request_authentication_methods_supported"])
	}
	if got := list("acr_values_supported"); slices.Contains(got, levelL3) {
		t.Errorf("acr_values_supported %v claims SpidL3, which is not configured", got)
	}
	t.Logf("request objects: %v; acr: %v; userinfo encryption: %v / %v", list("request_object_signing_alg_values_supported"),
		list("acr_values_supported"), list("userinfo_encryption_alg_values_supported"), list("userinfo_encryption_enc_values_supported"))
}

// TestCIEProfileLogin: a cie-profile RP logs a citizen in with a signed
// request object asking for SpidL2, offline_access and prompt=consent
// login. cnsgate shows the data-release page listing what the RP will
// receive (even though login.confirm_release is off), answers SpidL2
// (configured), an at+jwt access token with a UUID jti, a refresh token,
// an ID token encrypted to the RP's key (A128CBC-HS256, as registered)
// holding jti, nbf = iat, the nonce and the namespaced fiscal number, and
// a userinfo response signed then encrypted (RSA-OAEP-256,
// A256CBC-HS512); the RP decrypts and verifies each with jwx against
// /jwks.
func TestCIEProfileLogin(t *testing.T) {
	h, keys := profileHarness(t, false)
	br := h.citizen()
	pr := h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"scope": "openid profile offline_access"})
	loc, shown := br.authorizeWithConsent(pr.url, "cie-rp", citizenCF, "Mario", "Rossi", "Il servizio chiede la tua conferma a ogni accesso.")
	if !shown || loc.Query().Get("code") == "" || loc.Query().Get("state") != pr.state || loc.Query().Get("iss") != h.public.URL {
		t.Fatalf("consent page shown %v, redirect %s", shown, loc)
	}
	st, body := h.profileExchange(cieRP, loc.Query().Get("code"), pr.verifier, keys)
	access, refresh, idToken := h.tokens(st, body)
	if refresh == "" || headerOf(t, refresh)["typ"] != "rt+jwt" || claimsOf(t, refresh)["client_id"] != cieRP {
		t.Fatalf("refresh token %q: want a signed JWT for offline_access with prompt=consent", refresh)
	}
	if _, err := jwt.Parse([]byte(refresh), jwt.WithKeySet(h.providerKeys()), jwt.WithValidate(true), jwt.WithClock(jwt.ClockFunc(h.clock.Now))); err != nil {
		t.Fatalf("the refresh token does not verify against /jwks: %v", err)
	}
	if hdr, at := headerOf(t, access), claimsOf(t, access); hdr["typ"] != "at+jwt" || !uuid4RE.MatchString(fmt.Sprint(at["jti"])) ||
		fmt.Sprint(at["aud"]) != "["+h.public.URL+"/userinfo]" || at["client_id"] != cieRP || at["scope"] != "openid profile offline_access" || at["iss"] != h.public.URL {
		t.Fatalf("access token header %v, claims %v", hdr, claimsOf(t, access))
	}
	// The refresh token works, rotated into another signed one.
	_, next, _ := h.tokens(h.profileToken(cieRP, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, keys))
	if next == refresh || headerOf(t, next)["typ"] != "rt+jwt" {
		t.Fatalf("refresh rotated into %q", next)
	}
	id := h.openNested(idToken, keys, "A128CBC-HS256")
	if id["acr"] != levelL2 || id["nonce"] != pr.nonce || !uuid4RE.MatchString(fmt.Sprint(id["jti"])) || id["nbf"] == nil ||
		fmt.Sprint(id["nbf"]) != fmt.Sprint(id["iat"]) || id[nsFiscal] != "TINIT-"+citizenCF || id["fiscal_number"] != nil || id["given_name"] != "MARIO" {
		t.Fatalf("ID token claims: %v", id)
	}
	st, ctype, raw := h.userinfoRaw(access)
	if st != http.StatusOK || ctype != "application/jwt" {
		t.Fatalf("userinfo %d %s: %s", st, ctype, raw)
	}
	ui := h.openNested(raw, keys, "A256CBC-HS512")
	if ui[nsFiscal] != "TINIT-"+citizenCF || ui["family_name"] != "ROSSI" || ui["sub"] != id["sub"] || ui["exp"] == nil || ui["iat"] == nil {
		t.Fatalf("userinfo claims: %v", ui)
	}
	if aud, _ := ui["aud"].([]string); !slices.Equal(aud, []string{cieRP}) {
		t.Fatalf("userinfo aud %v", ui["aud"])
	}
	t.Logf("ID token JWE %d bytes, acr %s, jti %s; userinfo JWE %d bytes with %s", len(idToken), id["acr"], id["jti"], len(raw), ui[nsFiscal])

	// A second request with prompt=consent shows the page again, whatever
	// the citizen agreed to before.
	pr = h.profileRequest(cieRP, keys.sig, jwa.RS256, nil)
	if _, shown := br.authorizeWithConsent(pr.url, citizenCF); !shown {
		t.Fatal("prompt=consent did not show the data-release page again")
	}
}

// TestSPIDProfileLogin: a spid-profile RP gets no user attribute in the ID
// token (only at /userinfo, encrypted), no refresh token without
// offline_access, and the SpidL2 it asked for; asking for SpidL1 gets
// SpidL2, the lowest configured level above it. Its ID token is RS512,
// verified by go-oidc (signature, and at_hash on SHA-512) as well as jwx.
func TestSPIDProfileLogin(t *testing.T) {
	h, keys := profileHarness(t, false)
	br := h.citizen()
	pr := h.profileRequest(spidRP, keys.sig, jwa.RS512, map[string]any{"scope": "openid profile", "acr_values": levelL3 + " " + levelL1})
	loc, _ := br.authorizeWithConsent(pr.url)
	st, body := h.profileExchange(spidRP, loc.Query().Get("code"), pr.verifier, keys)
	if st != http.StatusOK || body["refresh_token"] != nil {
		t.Fatalf("token response %d %v: a refresh token without offline_access", st, body)
	}
	access, idToken := body["access_token"].(string), body["id_token"].(string)
	ctx := gooidc.ClientContext(t.Context(), h.httpClient())
	provider, err := gooidc.NewProvider(ctx, h.public.URL)
	if err != nil {
		t.Fatal(err)
	}
	verified, err := provider.Verifier(&gooidc.Config{ClientID: spidRP, Now: h.clock.Now}).Verify(ctx, idToken)
	if err != nil || headerOf(t, idToken)["alg"] != "RS512" {
		t.Fatalf("go-oidc refused the RS512 ID token: %v", err)
	}
	if err := verified.VerifyAccessToken(access); err != nil {
		t.Fatalf("go-oidc: at_hash of the RS512 ID token: %v", err)
	}
	tok, err := jwt.Parse([]byte(idToken), jwt.WithKeySet(h.providerKeys()), jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(h.clock.Now)), jwt.WithAudience(spidRP), jwt.WithIssuer(h.public.URL))
	if err != nil {
		t.Fatalf("ID token does not verify: %v", err)
	}
	id, _ := tok.AsMap(t.Context())
	for _, attr := range []string{"given_name", "family_name", nsFiscal, "fiscal_number", "card_id"} {
		if id[attr] != nil {
			t.Fatalf("spid ID token carries the user attribute %s: %v", attr, id)
		}
	}
	if id["acr"] != levelL2 || id["jti"] == nil {
		t.Fatalf("ID token claims: %v", id)
	}
	// The SPID rules take /userinfo by GET only.
	req, _ := http.NewRequest(http.MethodPost, h.public.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	if resp, err := h.httpClient().Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Fatalf("POST /userinfo of a spid client: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	_, _, raw := h.userinfoRaw(access)
	if ui := h.openNested(raw, keys, "A256CBC-HS512"); ui[nsFiscal] != "TINIT-"+citizenCF || ui["given_name"] != "MARIO" {
		t.Fatalf("userinfo claims: %v", ui)
	}
	t.Logf("spid ID token claims: %v", slices.Sorted(func(yield func(string) bool) {
		for k := range id {
			if !yield(k) {
				return
			}
		}
	}))
}

// TestProfileRefusals: every rule of the profiles refuses a request that
// breaks it, to the registered redirect_uri with the error the rules name
// and a precise description, counted by reason; without a trusted
// redirect_uri the reason is on the error page.
func TestProfileRefusals(t *testing.T) {
	h, keys := profileHarness(t, false)
	br := h.citizen()
	otherKey, _ := rpKeysOther()
	now := h.clock.Now()
	_, challenge := newVerifier()
	replayed := h.profileRequest(spidRP, keys.sig, jwa.RS256, nil)
	if loc, _ := br.authorizeWithConsent(replayed.url); loc.Query().Get("code") == "" {
		t.Fatalf("first use refused: %s", loc)
	}
	tests := []struct {
		name, url, error, detail, reason string
	}{
		{"no-request-object", h.authURL(spidRP, challenge, map[string][]string{"state": {random32()}, "nonce": {random32()}}), "invalid_request", "signed request object", "request_missing"},
		{"short-state", h.profileRequest(spidRP, keys.sig, jwa.RS256, map[string]any{"state": "short"}).url, "invalid_request", "state must be at least 32", "state"},
		{"short-nonce", h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"nonce": "n"}).url, "invalid_request", "nonce must be at least 32", "nonce"},
		{"no-nonce", h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"nonce": nil}).url, "invalid_request", "nonce must be at least 32", "nonce"},
		{"prompt-none", h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"prompt": "none"}).url, "invalid_request", "prompt must be consent", "prompt"},
		{"prompt-login-alone", h.profileRequest(spidRP, keys.sig, jwa.RS256, map[string]any{"prompt": "login"}).url, "invalid_request", "prompt must be consent", "prompt"},
		{"no-prompt", h.profileRequest(spidRP, keys.sig, jwa.RS256, map[string]any{"prompt": nil}).url, "invalid_request", "prompt must be consent", "prompt"},
		{"level-not-met", h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"acr_values": levelL3}).url, "access_denied", "acr_values", "acr"},
		{"replayed-jti", replayed.url, "invalid_request_object", "jti already used", "request_object"},
		{"wrong-aud", h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"aud": "https://op.example"}).url, "invalid_request_object", "aud", "request_object"},
		{"wrong-iss", h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"iss": spidRP}).url, "invalid_request_object", "iss", "request_object"},
		{"expired", h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"exp": now.Add(-2 * 60e9), "iat": now.Add(-3 * 60e9)}).url, "invalid_request_object", "exp", "request_object"},
		{"exp-too-far", h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"exp": now.Add(2 * 3600e9)}).url, "invalid_request_object", "more than 1h", "request_object"},
		{"no-jti", h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"jti": nil}).url, "invalid_request_object", "jti", "request_object"},
		{"no-iat", h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"iat": nil}).url, "invalid_request_object", "iat", "request_object"},
		{"unknown-key", h.profileRequest(cieRP, otherKey, jwa.RS256, nil).url, "invalid_request_object", "request object refused", "request_object"},
		{"hmac", h.profileRequest(cieRP, hmacKey(t), jwa.HS256, nil).url, "invalid_request_object", "HS256", "request_object"},
		{"unsigned", unsignedRequest(t, h.profileRequest(cieRP, keys.sig, jwa.RS256, nil).url), "invalid_request_object", "none", "request_object"},
		{"other-client-id-inside", h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"client_id": spidRP}).url, "invalid_request_object", "client_id", "request_object"},
		{"scope-differs", strings.Replace(h.profileRequest(cieRP, keys.sig, jwa.RS256, nil).url, "scope=openid+profile", "scope=openid", 1), "invalid_request_object", "scope must be sent both", "request_object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.rec.count(h.rec.profile, clientOf(tt.url)+"/"+tt.reason)
			r := br.get(tt.url)
			if r.location == nil {
				t.Fatalf("no redirect: %d %s", r.status, r.body)
			}
			q := r.location.Query()
			if q.Get("error") != tt.error || !strings.Contains(q.Get("error_description"), tt.detail) || q.Get("iss") != h.public.URL {
				t.Fatalf("redirect %s, want %s with %q", r.location, tt.error, tt.detail)
			}
			if got := h.rec.count(h.rec.profile, clientOf(tt.url)+"/"+tt.reason); got != before+1 {
				t.Fatalf("refusal %s counted %d times", tt.reason, got-before)
			}
			t.Logf("%s: %s", q.Get("error"), q.Get("error_description"))
		})
	}
	t.Run("untrusted-redirect-is-a-page", func(t *testing.T) {
		u := strings.Replace(h.profileRequest(cieRP, keys.sig, jwa.RS256, map[string]any{"aud": "x"}).url, "%2Fcb%2Fcie-rp", "%2Fevil", 1)
		if r := br.get(u); r.status != http.StatusBadRequest || r.location != nil || !strings.Contains(r.body, "Richiesta non valida") {
			t.Fatalf("want the error page, got %d %v", r.status, r.location)
		}
	})
}

// clientOf is the client_id of an authorization URL.
func clientOf(u string) string {
	_, q, _ := strings.Cut(u, "client_id=")
	id, _, _ := strings.Cut(q, "&")
	return id
}

// TestRequestObjectPlainClient: an oidc-profile client may send a request
// object too (ES256, its private_key_jwt key); the parameters inside win
// over those beside it (state, ui_locales), and one signed by another key
// is refused.
func TestRequestObjectPlainClient(t *testing.T) {
	h, keys := profileHarness(t, false)
	br := h.citizen()
	pr := h.profileRequest("jwt-inline", h.clientKey, jwa.ES256, map[string]any{"state": "inside", "nonce": "n", "prompt": nil, "acr_values": nil, "ui_locales": "en"})
	if gate := br.get(pr.url + "&state=outside&ui_locales=it"); !strings.Contains(gate.body, `<html lang="en">`) {
		t.Fatalf("the login page does not speak the request object's ui_locales:\n%s", gate.body)
	}
	pr = h.profileRequest("jwt-inline", h.clientKey, jwa.ES256, map[string]any{"state": "inside", "nonce": "n", "prompt": nil, "acr_values": nil})
	loc := br.authorize(pr.url + "&state=outside")
	if loc.Query().Get("code") == "" || loc.Query().Get("state") != "inside" {
		t.Fatalf("redirect %s: want a code and the state of the request object", loc)
	}
	id := claimsOf(t, h.tokensOf(h.exchange("jwt-inline", loc.Query().Get("code"), pr.verifier)))
	if id["nonce"] != "n" || id["jti"] == nil || id["given_name"] != "MARIO" || id[nsFiscal] != nil {
		t.Fatalf("ID token of the plain client: %v", id)
	}
	bad := h.profileRequest("jwt-inline", keys.sig, jwa.RS256, map[string]any{"prompt": nil})
	if r := br.get(bad.url); r.location == nil || r.location.Query().Get("error") != "invalid_request_object" {
		t.Fatalf("request object of another key: %d %v", r.status, r.location)
	}
	// An unsigned request object (alg none, which discovery lists) is read
	// as its parameters would be for a plain client.
	plain := h.profileRequest("jwt-inline", h.clientKey, jwa.ES256, map[string]any{"state": "unsigned-inside", "nonce": "n2", "prompt": nil, "acr_values": nil})
	loc = br.authorize(unsignedRequest(t, plain.url))
	if loc.Query().Get("code") == "" || loc.Query().Get("state") != "unsigned-inside" {
		t.Fatalf("unsigned request object of a plain client: redirect %s; want a code and its state", loc)
	}
	if id := claimsOf(t, h.tokensOf(h.exchange("jwt-inline", loc.Query().Get("code"), plain.verifier))); id["nonce"] != "n2" {
		t.Fatalf("ID token after an unsigned request object: %v", id)
	}
	// With a signature part it is not unsigned, and is refused.
	base, query, _ := strings.Cut(unsignedRequest(t, plain.url), "?")
	q, _ := url.ParseQuery(query)
	q.Set("request", q.Get("request")+"AAAA")
	if r := br.get(base + "?" + q.Encode()); r.location == nil || r.location.Query().Get("error") != "invalid_request_object" {
		t.Fatalf("alg none with a signature: %d %v", r.status, r.location)
	}
}

// tokensOf is the ID token of a successful token response.
func (h *harness) tokensOf(status int, body map[string]any) string {
	_, _, id := h.tokens(status, body)
	return id
}

// TestRequestObjectReplayRedis: the jti of a request object is remembered
// in the shared Redis store, so a replay is refused whichever replica it
// reaches.
func TestRequestObjectReplayRedis(t *testing.T) {
	h, keys := profileHarness(t, true)
	br := h.citizen()
	pr := h.profileRequest(cieRP, keys.sig, jwa.PS256, nil)
	if loc, _ := br.authorizeWithConsent(pr.url); loc.Query().Get("code") == "" {
		t.Fatalf("first use refused: %s", loc)
	}
	r := br.get(pr.url)
	if r.location == nil || r.location.Query().Get("error") != "invalid_request_object" {
		t.Fatalf("replay on Redis: %d %v", r.status, r.location)
	}
}

// unsignedRequest replaces the request object of an authorization URL by
// an unsigned (alg none) copy of its claims.
func unsignedRequest(t *testing.T, u string) string {
	t.Helper()
	base, query, _ := strings.Cut(u, "?")
	q, _ := url.ParseQuery(query)
	if _, err := jws.Parse([]byte(q.Get("request"))); err != nil {
		t.Fatal(err)
	}
	q.Set("request", unsigned(q.Get("request"), "JWT"))
	return base + "?" + q.Encode()
}

// rpKeysOther is a key the RPs never registered.
var rpKeysOther = sync.OnceValues(func() (jwk.Key, error) {
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	k, err := jwk.FromRaw(raw)
	_ = jwk.AssignKeyID(k)
	return k, err
})

// hmacKey is a symmetric key, which request objects must never use.
func hmacKey(t *testing.T) jwk.Key {
	k, err := jwk.FromRaw([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
