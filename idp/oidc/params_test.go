package oidc

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"testing"
)

const testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 appendix B

func authForm(set url.Values) url.Values {
	f := url.Values{
		"client_id": {"c"}, "redirect_uri": {"https://rp/cb"}, "response_type": {"code"}, "scope": {"openid profile"},
		"code_challenge": {testChallenge}, "code_challenge_method": {"S256"}, "state": {"s"}, "nonce": {"n"},
	}
	for k, v := range set {
		if v == nil {
			f.Del(k)
		} else {
			f[k] = v
		}
	}
	return f
}

func TestParseAuthorize(t *testing.T) {
	tests := []struct {
		name string
		set  url.Values
		code string // "" accepted; else the error code
		page bool
	}{
		{"ok/minimal", nil, "", false},
		{"ok/prompt-login-max-age", url.Values{"prompt": {"login consent"}, "max_age": {"60"}, "response_mode": {"form_post"}}, "", false},
		{"fail/no-client-id", url.Values{"client_id": nil}, errInvalidRequest, true},
		{"fail/long-client-id", url.Values{"client_id": {strings.Repeat("c", 256)}}, errInvalidRequest, true},
		{"fail/no-redirect-uri", url.Values{"redirect_uri": nil}, errInvalidRequest, true},
		{"fail/repeated-redirect-uri", url.Values{"redirect_uri": {"https://rp/cb", "https://rp/cb"}}, errInvalidRequest, true},
		{"fail/repeated-scope", url.Values{"scope": {"openid", "openid"}}, errInvalidRequest, false},
		{"fail/repeated-state", url.Values{"state": {"a", "b"}}, errInvalidRequest, false},
		{"fail/long-state", url.Values{"state": {strings.Repeat("s", maxStateLen+1)}}, errInvalidRequest, false},
		{"ok/state-at-bound", url.Values{"state": {strings.Repeat("s", maxStateLen)}}, "", false},
		{"fail/no-response-type", url.Values{"response_type": nil}, errInvalidRequest, false},
		{"fail/token-response-type", url.Values{"response_type": {"code id_token"}}, errUnsupportedResponseType, false},
		{"fail/no-openid", url.Values{"scope": {"profile"}}, errInvalidScope, false},
		{"fail/no-challenge", url.Values{"code_challenge": nil}, errInvalidRequest, false},
		{"fail/plain", url.Values{"code_challenge_method": {"plain"}}, errInvalidRequest, false},
		{"fail/challenge-alphabet", url.Values{"code_challenge": {strings.Repeat("+", 43)}}, errInvalidRequest, false},
		{"fail/prompt-unknown", url.Values{"prompt": {"create"}}, errInvalidRequest, false},
		{"fail/prompt-none-login", url.Values{"prompt": {"none login"}}, errInvalidRequest, false},
		{"fail/max-age-text", url.Values{"max_age": {"1h"}}, errInvalidRequest, false},
		{"fail/request-uri", url.Values{"request_uri": {"urn:x"}}, errRequestURINotSupported, false},
		{"fail/registration", url.Values{"registration": {"{}"}}, errRegistrationNotSupp, false},
		{"fail/response-mode-jwt", url.Values{"response_mode": {"jwt"}}, errInvalidRequest, false},
		{"ok/prompt-none", url.Values{"prompt": {"none"}, "acr_values": {"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"}}, "", false},
		{"fail/repeated-client-id", url.Values{"client_id": {"c", "c"}}, errInvalidRequest, true},
		{"fail/long-redirect-uri", url.Values{"redirect_uri": {"https://rp/" + strings.Repeat("p", maxParamLen)}}, errInvalidRequest, true},
		{"fail/repeated-response-mode", url.Values{"response_mode": {"query", "query"}}, errInvalidRequest, false},
		{"fail/request-object", url.Values{"request": {"eyJ.x.y"}}, errRequestNotSupported, false},
		{"fail/long-scope", url.Values{"scope": {"openid " + strings.Repeat("s", maxParamLen)}}, errInvalidRequest, false},
		{"fail/long-nonce", url.Values{"nonce": {strings.Repeat("n", maxNonceLen+1)}}, errInvalidRequest, false},
		{"ok/nonce-at-bound", url.Values{"nonce": {strings.Repeat("n", maxNonceLen)}}, "", false},
		{"fail/short-challenge", url.Values{"code_challenge": {testChallenge[:42]}}, errInvalidRequest, false},
		{"fail/max-age-negative", url.Values{"max_age": {"-1"}}, errInvalidRequest, false},
		{"fail/long-acr-values", url.Values{"acr_values": {strings.Repeat("a", maxParamLen+1)}}, errInvalidRequest, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := parseAuthorize(authForm(tt.set))
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.code != "" && (err == nil || err.Code != tt.code || err.page != tt.page):
				t.Fatalf("got %+v, want %s (page %v)", err, tt.code, tt.page)
			}
			if err == nil && (req.Challenge != testChallenge || !slices.Contains(req.Scopes, "openid")) {
				t.Fatalf("request: %+v", req)
			}
			if err != nil && !err.page && tt.name != "fail/repeated-state" && tt.name != "fail/long-state" && req.State != "s" {
				t.Fatalf("state lost for the error redirect: %+v", req)
			}
		})
	}
	req, _ := parseAuthorize(authForm(url.Values{"response_mode": {"form_post"}, "max_age": {"0"}}))
	if req.ResponseMode != "form_post" || req.MaxAge != 0 {
		t.Fatalf("request: %+v", req)
	}
	if req, _ := parseAuthorize(authForm(nil)); req.MaxAge != -1 || req.ResponseMode != "query" {
		t.Fatalf("defaults: %+v", req)
	}
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func TestParseTokenRequest(t *testing.T) {
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	code := url.Values{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {"https://rp/cb"}, "code_verifier": {verifier}}
	with := func(base url.Values, kv ...string) url.Values {
		f := url.Values{}
		for k, v := range base {
			f[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Add(kv[i], kv[i+1])
			}
		}
		return f
	}
	tests := []struct {
		name  string
		form  url.Values
		authz string
		code  string
	}{
		{"ok/code-basic", code, basic("client:1", "s3cr/t+%"), ""},
		{"ok/code-post", with(code, "client_id", "c", "client_secret", "s"), "", ""},
		{"ok/refresh-scope", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}, "scope": {"openid"}}, basic("c", "s"), ""},
		{"fail/no-grant-type", url.Values{}, "", errInvalidRequest},
		{"fail/password-grant", url.Values{"grant_type": {"password"}}, "", errUnsupportedGrantType},
		{"fail/repeated-code", with(code, "code", "d"), "", errInvalidRequest},
		{"fail/no-verifier", with(code, "code_verifier", ""), "", errInvalidRequest},
		{"fail/short-verifier", with(with(code, "code_verifier", ""), "code_verifier", "abc"), "", errInvalidGrant},
		{"fail/no-redirect-uri", with(code, "redirect_uri", ""), "", errInvalidRequest},
		{"fail/basic-and-post", with(code, "client_secret", "s"), basic("c", "s"), errInvalidRequest},
		{"fail/basic-other-id", with(code, "client_id", "d"), basic("c", "s"), errInvalidClient},
		{"fail/bad-basic", code, "Basic !!!", errInvalidClient},
		{"fail/basic-no-colon", code, "Basic " + base64.StdEncoding.EncodeToString([]byte("c")), errInvalidClient},
		{"fail/assertion-type", with(code, "client_assertion", "x.y.z", "client_assertion_type", "saml"), "", errInvalidClient},
		{"fail/secret-and-assertion", with(code, "client_secret", "s", "client_assertion", "x.y.z",
			"client_assertion_type", assertionTypeJWT), "", errInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := parseTokenRequest(tt.form, tt.authz)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || err.Code != tt.code {
				t.Fatalf("got %v (%+v), want %s", err, req, tt.code)
			}
		})
	}
	req, _ := parseTokenRequest(code, basic("client:1", "s3cr/t+%"))
	if req.ClientID != "client:1" || req.Secret != "s3cr/t+%" || !req.Basic {
		t.Fatalf("Basic credentials: %+v", req.credentials)
	}
}
