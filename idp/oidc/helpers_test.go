package oidc_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// newVerifier returns a random PKCE verifier and its S256 challenge.
func newVerifier() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authURL is an authorization request of client with sensible defaults;
// set overrides them, and an empty value removes the parameter.
func (h *harness) authURL(client, challenge string, set url.Values) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {client}, "redirect_uri": {h.rp.srv.URL + "/cb/" + client},
		"scope": {"openid profile fiscal_number roles"}, "state": {"st-" + client}, "nonce": {"n-" + client},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	for k, v := range set {
		if len(v) == 1 && v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return h.public.URL + "/authorize?" + q.Encode()
}

// code runs an authorization of client in the browser and returns the code
// and its verifier.
func (h *harness) code(b *browser, client string) (code, verifier string) {
	h.t.Helper()
	verifier, challenge := newVerifier()
	loc := b.authorize(h.authURL(client, challenge, nil))
	if loc.Query().Get("code") == "" {
		h.t.Fatalf("no code: %s", loc)
	}
	return loc.Query().Get("code"), verifier
}

// assertion signs a private_key_jwt client assertion of client with jti.
func (h *harness) assertion(client, jti, aud string) string {
	h.t.Helper()
	now := h.clock.Now()
	tok, err := jwt.NewBuilder().Issuer(client).Subject(client).Audience([]string{aud}).
		IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(jti).Build()
	if err != nil {
		h.t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, h.clientKey))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(signed)
}

// authenticate adds client's credentials, by its registered method, to
// form and returns the Basic credentials to send, if any.
func (h *harness) authenticate(client string, form url.Values) (id, secret string) {
	switch client {
	case "esenzioni":
		return client, secretBasic
	case "post":
		form.Set("client_id", client)
		form.Set("client_secret", secretPost)
	case "jwt-inline", "jwt-uri":
		jti := make([]byte, 12)
		_, _ = rand.Read(jti)
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", h.assertion(client, base64.RawURLEncoding.EncodeToString(jti), h.public.URL+"/token"))
	default:
		form.Set("client_id", client)
	}
	return "", ""
}

// tokenCall posts a token request authenticated as client and decodes the
// JSON answer.
func (h *harness) tokenCall(client string, form url.Values) (int, map[string]any) {
	h.t.Helper()
	id, secret := h.authenticate(client, form)
	return h.postJSON("/token", form, id, secret)
}

func (h *harness) postJSON(path string, form url.Values, id, secret string) (int, map[string]any) {
	h.t.Helper()
	status, body := h.backchannel(h.public.URL+path, form, id, secret)
	var out map[string]any
	if body != "" {
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			h.t.Fatalf("%s answered %d, not JSON: %s", path, status, body)
		}
	}
	return status, out
}

// exchange redeems a code for client.
func (h *harness) exchange(client, code, verifier string) (int, map[string]any) {
	return h.tokenCall(client, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {h.rp.srv.URL + "/cb/" + client},
	})
}

// refresh spends a refresh token of client.
func (h *harness) refresh(client, rt string) (int, map[string]any) {
	return h.tokenCall(client, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// userinfo calls /userinfo with a bearer token and returns the status.
func (h *harness) userinfo(token string) int {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.public.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := h.httpClient().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// tokens is a successful token response.
func (h *harness) tokens(status int, body map[string]any) (access, refresh, id string) {
	h.t.Helper()
	if status != http.StatusOK {
		h.t.Fatalf("token request: %d %v", status, body)
	}
	access, _ = body["access_token"].(string)
	refresh, _ = body["refresh_token"].(string)
	id, _ = body["id_token"].(string)
	return access, refresh, id
}

// tamper replaces one character in the middle of the token's payload.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	p := []byte(parts[1])
	i := len(p) / 2
	if p[i] == 'A' {
		p[i] = 'B'
	} else {
		p[i] = 'A'
	}
	parts[1] = string(p)
	return strings.Join(parts, ".")
}

// unsigned re-encodes a token's payload under {"alg":"none"}.
func unsigned(token, typ string) string {
	parts := strings.Split(token, ".")
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"` + typ + `"}`))
	return hdr + "." + parts[1] + "."
}
