package oidc

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseAuthorize feeds raw query strings to the authorization request
// parser: it must never panic, a request it accepts must hold what the
// rest of the provider relies on, and a page error must never be
// answered by redirect.
func FuzzParseAuthorize(f *testing.F) {
	f.Add(authForm(nil).Encode())
	f.Add(authForm(url.Values{"prompt": {"none"}, "max_age": {"0"}, "response_mode": {"form_post"}}).Encode())
	f.Add("client_id=c&redirect_uri=https%3A%2F%2Frp%2Fcb&response_type=code&scope=openid&code_challenge_method=plain")
	f.Add("client_id=&client_id=x&redirect_uri=%zz")
	f.Add("scope=openid%00profile&max_age=99999999999999999999")
	f.Add(authForm(url.Values{"claims": {`{"id_token":{"fiscal_number":null},"userinfo":{"given_name":{"essential":true}}}`}, "ui_locales": {"en it"}}).Encode())
	f.Add(authForm(url.Values{"claims": {`{"id_token":{"fiscal_number":[1]}} x`}}).Encode())
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, perr := parseAuthorize(form)
		if perr != nil {
			if perr.Code == "" || (perr.page && perr.status != 400) {
				t.Fatalf("malformed refusal %+v", perr)
			}
			return
		}
		if req.ClientID == "" || req.RedirectURI == "" || len(req.Challenge) != challengeLen || !isBase64URL(req.Challenge) {
			t.Fatalf("accepted an incomplete request: %+v", req)
		}
		if req.ResponseMode != "query" && req.ResponseMode != "form_post" {
			t.Fatalf("response mode %q", req.ResponseMode)
		}
		if len(req.State) > maxStateLen || len(req.Nonce) > maxNonceLen || req.MaxAge < -1 {
			t.Fatalf("accepted out-of-bounds values: %+v", req)
		}
		if req.Prompt != "" && req.Prompt != "none" && req.Prompt != "login" {
			t.Fatalf("prompt %q", req.Prompt)
		}
		found := false
		for _, s := range req.Scopes {
			found = found || s == ScopeOpenID
			if strings.ContainsAny(s, " \t\n") {
				t.Fatalf("scope %q holds a space", s)
			}
		}
		if !found {
			t.Fatal("accepted without the openid scope")
		}
		// Only claims about the citizen that a scope carries are kept.
		for _, name := range append(req.Claims.idToken(), req.Claims.userinfo()...) {
			if scopeOf(name) == "" {
				t.Fatalf("kept claim %q", name)
			}
		}
		if l := uiLocale(form); l != "" && l != "it" && l != "en" {
			t.Fatalf("ui_locales gave %q", l)
		}
	})
}

// FuzzParseTokenRequest feeds raw bodies and Authorization headers to the
// token request parser.
func FuzzParseTokenRequest(f *testing.F) {
	f.Add("grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Frp%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", basic("c", "s"))
	f.Add("grant_type=refresh_token&refresh_token=r&scope=openid&client_id=c&client_secret=s", "")
	f.Add("grant_type=authorization_code&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c", "")
	f.Add("grant_type=refresh_token", "Basic Og==")
	f.Add("", "Basic JTpz")
	f.Fuzz(func(t *testing.T, body, authz string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		req, perr := parseTokenRequest(form, authz)
		if perr != nil {
			if perr.Code == "" {
				t.Fatalf("refusal without a code: %+v", perr)
			}
			return
		}
		switch req.GrantType {
		case grantAuthorizationCode:
			if req.Code == "" || req.RedirectURI == "" || !isVerifier(req.Verifier) {
				t.Fatalf("accepted an incomplete code request: %+v", req)
			}
		case grantRefreshToken:
			if req.RefreshToken == "" {
				t.Fatal("accepted a refresh request without a token")
			}
		default:
			t.Fatalf("accepted grant type %q", req.GrantType)
		}
		if req.Basic && req.ClientID == "" {
			t.Fatal("Basic credentials without a client id")
		}
		if req.Secret != "" && req.Assertion != "" {
			t.Fatal("two authentication methods accepted")
		}
	})
}
