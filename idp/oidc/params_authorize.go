package oidc

import (
	"strconv"
	"strings"
)

// Bounds on what a relying party may send; anything longer is refused, so
// that no parameter can bloat the shared store.
const (
	maxParamLen   = 2048 // state, nonce, redirect_uri, scope, acr_values
	maxClientID   = 255
	challengeLen  = 43 // base64url of a SHA-256 digest
	minVerifier   = 43
	maxVerifier   = 128
	maxAgeCeiling = 1 << 31
)

// authRequest is an authorization request as validated: what the pending
// request carries through the card login (idp.PendingRequest.Data).
type authRequest struct {
	ClientID     string   `json:"client_id"`
	RedirectURI  string   `json:"redirect_uri"`
	ResponseMode string   `json:"response_mode,omitempty"` // "query" or "form_post"
	State        string   `json:"state,omitempty"`
	Nonce        string   `json:"nonce,omitempty"`
	Scopes       []string `json:"scopes"`
	Challenge    string   `json:"code_challenge"`
	Prompt       string   `json:"prompt,omitempty"`  // "", "none" or "login"
	MaxAge       int64    `json:"max_age,omitempty"` // seconds; -1 when absent
	ACRValues    []string `json:"acr_values,omitempty"`
}

// parseAuthorize reads the parameters of an authorization request (RFC
// 6749 4.1.1, OpenID Connect Core 3.1.2.1, RFC 7636). It returns what it
// could read and, on refusal, an error: a page error when client_id or
// redirect_uri cannot be trusted (the answer must then not be a redirect),
// otherwise an error to send back to the redirect URI once the client and
// the URI are confirmed.
func parseAuthorize(form map[string][]string) (authRequest, *oauthError) {
	req := authRequest{MaxAge: -1}
	one := func(name string) (string, bool) {
		v := form[name]
		switch len(v) {
		case 0:
			return "", true
		case 1:
			return v[0], true
		}
		return "", false
	}
	var ok bool
	if req.ClientID, ok = one("client_id"); !ok || req.ClientID == "" || len(req.ClientID) > maxClientID {
		return req, pageErr("client_id is missing, repeated or too long")
	}
	if req.RedirectURI, ok = one("redirect_uri"); !ok || req.RedirectURI == "" || len(req.RedirectURI) > maxParamLen {
		return req, pageErr("redirect_uri is missing, repeated or too long")
	}
	// From here errors go back to the client; state and response_mode are
	// read first so that they can.
	state, okState := one("state")
	if okState && len(state) <= maxParamLen {
		req.State = state
	}
	mode, okMode := one("response_mode")
	if okMode && mode == "form_post" {
		req.ResponseMode = "form_post"
	} else {
		req.ResponseMode = "query"
	}
	for _, name := range []string{"response_type", "scope", "nonce", "code_challenge", "code_challenge_method",
		"prompt", "max_age", "acr_values", "request", "request_uri", "registration", "id_token_hint", "login_hint", "claims", "display", "ui_locales"} {
		if len(form[name]) > 1 {
			return req, newErr(errInvalidRequest, name+" is repeated")
		}
	}
	switch {
	case !okState:
		return req, newErr(errInvalidRequest, "state is repeated")
	case len(state) > maxParamLen:
		return req, newErr(errInvalidRequest, "state is too long")
	case !okMode:
		return req, newErr(errInvalidRequest, "response_mode is repeated")
	case mode != "" && mode != "query" && mode != "form_post":
		return req, newErr(errInvalidRequest, "response_mode must be query or form_post")
	}
	v := func(name string) string { s, _ := one(name); return s }
	switch {
	case v("request") != "":
		return req, newErr(errRequestNotSupported, "request objects are not supported")
	case v("request_uri") != "":
		return req, newErr(errRequestURINotSupported, "request_uri is not supported")
	case v("registration") != "":
		return req, newErr(errRegistrationNotSupp, "registration is not supported")
	}
	switch rt := v("response_type"); rt {
	case "code":
	case "":
		return req, newErr(errInvalidRequest, "response_type is missing")
	default:
		return req, newErr(errUnsupportedResponseType, "only response_type=code is supported")
	}
	scope := v("scope")
	if len(scope) > maxParamLen {
		return req, newErr(errInvalidRequest, "scope is too long")
	}
	req.Scopes = strings.Fields(scope)
	if !contains(req.Scopes, ScopeOpenID) {
		return req, newErr(errInvalidScope, "the openid scope is required")
	}
	req.Nonce = v("nonce")
	if len(req.Nonce) > maxParamLen {
		return req, newErr(errInvalidRequest, "nonce is too long")
	}
	req.Challenge = v("code_challenge")
	switch method := v("code_challenge_method"); {
	case req.Challenge == "":
		return req, newErr(errInvalidRequest, "code_challenge is required (PKCE with S256)")
	case method != "S256":
		return req, newErr(errInvalidRequest, "code_challenge_method must be S256; plain is not supported")
	case len(req.Challenge) != challengeLen || !isBase64URL(req.Challenge):
		return req, newErr(errInvalidRequest, "code_challenge must be the base64url SHA-256 of the verifier")
	}
	prompts := strings.Fields(v("prompt"))
	for _, pr := range prompts {
		switch pr {
		case "none", "login":
			req.Prompt = pr
		case "consent", "select_account":
			// No consent or account choice to show: the card is the account.
		default:
			return req, newErr(errInvalidRequest, "prompt must be none or login")
		}
	}
	if contains(prompts, "none") && len(prompts) > 1 {
		return req, newErr(errInvalidRequest, "prompt=none cannot be combined with other values")
	}
	if s := v("max_age"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > maxAgeCeiling {
			return req, newErr(errInvalidRequest, "max_age must be a non-negative number of seconds")
		}
		req.MaxAge = n
	}
	acr := v("acr_values")
	if len(acr) > maxParamLen {
		return req, newErr(errInvalidRequest, "acr_values is too long")
	}
	req.ACRValues = strings.Fields(acr)
	return req, nil
}

// isBase64URL reports whether s holds only the base64url alphabet.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isVerifier reports whether s is a PKCE code verifier (RFC 7636 4.1).
func isVerifier(s string) bool {
	if len(s) < minVerifier || len(s) > maxVerifier {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
