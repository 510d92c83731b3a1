package oidc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cnsgate/cnsgate/idp/web"
)

// Bounds on what a relying party may send; anything longer is refused, so
// that no parameter can bloat the shared store. state and nonce are opaque
// values of the client, stored with the pending request. Client libraries
// send a random value of a few dozen characters (openid-client's
// randomState and randomNonce: 43); x/oauth2 with go-oidc sends what the
// application chose. 512 leaves room for an application that packs a
// return path in state.
const (
	maxParamLen   = 2048 // redirect_uri (then matched to a registered one), scope, acr_values
	maxStateLen   = 512
	maxNonceLen   = 512
	maxClientID   = 255
	challengeLen  = 43 // base64url of a SHA-256 digest
	minVerifier   = 43
	maxVerifier   = 128
	maxAgeCeiling = 1 << 31
)

// authRequest is an authorization request as validated. Its JSON is what
// the pending request carries through the card login
// (idp.PendingRequest.Data): only what resume needs, a few hundred bytes;
// prompt, max_age and acr_values are decided before the login starts.
type authRequest struct {
	ClientID     string   `json:"client_id"`
	RedirectURI  string   `json:"redirect_uri"`
	ResponseMode string   `json:"response_mode,omitempty"` // "query" or "form_post"
	State        string   `json:"state,omitempty"`
	Nonce        string   `json:"nonce,omitempty"`
	Scopes       []string `json:"scopes"`
	Challenge    string   `json:"code_challenge"`
	// Claims are the claims asked for by name (the claims parameter).
	Claims *requestedClaims `json:"claims,omitempty"`
	// Lang is the first supported language of ui_locales, "" when none:
	// idp carries it through the login with the pending request.
	Lang      string   `json:"-"`
	Prompt    string   `json:"-"` // "", "none" or "login"
	MaxAge    int64    `json:"-"` // seconds; -1 when absent
	ACRValues []string `json:"-"`
	// Consent is prompt=consent of a spid or cie client: the data-release
	// page is shown whatever the citizen agreed before; it is cleared in the
	// copy the page resumes. ACR is the level of acr_values the login
	// meets, Offline a spid or cie client's offline_access with
	// prompt=consent (acr.go, profile.go).
	Consent bool   `json:"consent,omitempty"`
	ACR     string `json:"acr,omitempty"`
	Offline bool   `json:"offline,omitempty"`
	// Signed: the request came in a verified request object.
	Signed  bool     `json:"-"`
	Prompts []string `json:"-"` // every prompt value, as sent
}

// parseAuthorize reads the parameters of an authorization request (RFC
// 6749 4.1.1, OpenID Connect Core 3.1.2.1, RFC 7636). It returns what it
// could read and, on refusal, an error: a page error when client_id or
// redirect_uri cannot be trusted (the answer must then not be a redirect),
// otherwise an error to send back to the redirect URI once the client and
// the URI are confirmed.
func parseAuthorize(form map[string][]string) (authRequest, *oauthError) {
	req := authRequest{MaxAge: -1}
	for _, step := range authorizeSteps {
		if err := step(authParams(form), &req); err != nil {
			return req, err
		}
	}
	return req, nil
}

// authorizeStep reads one part of an authorization request into req, or
// refuses it. The steps run in order and the first refusal is the answer.
type authorizeStep func(f authParams, req *authRequest) *oauthError

// authorizeSteps: client_id and redirect_uri first (their refusals are
// pages), then state and response_mode (so that later refusals can be
// redirected), then the rest.
var authorizeSteps = []authorizeStep{
	readClientID,
	readRedirectURI,
	readReturnParams,
	checkRepeated,
	checkReturnParams,
	checkUnsupported,
	checkResponseType,
	readScope,
	readNonce,
	readChallenge,
	readPrompt,
	readMaxAge,
	readACRValues,
	readClaims,
}

// authParams is a request's form.
type authParams map[string][]string

// one returns the single value of name ("" when absent) and false when the
// parameter is repeated.
func (f authParams) one(name string) (string, bool) {
	switch v := f[name]; len(v) {
	case 0:
		return "", true
	case 1:
		return v[0], true
	}
	return "", false
}

// get returns the single value of name, "" when absent or repeated.
func (f authParams) get(name string) string {
	s, _ := f.one(name)
	return s
}

func readClientID(f authParams, req *authRequest) *oauthError {
	var ok bool
	if req.ClientID, ok = f.one("client_id"); !ok || req.ClientID == "" || len(req.ClientID) > maxClientID {
		return pageErr("client_id is missing, repeated or too long")
	}
	return nil
}

func readRedirectURI(f authParams, req *authRequest) *oauthError {
	var ok bool
	if req.RedirectURI, ok = f.one("redirect_uri"); !ok || req.RedirectURI == "" || len(req.RedirectURI) > maxParamLen {
		return pageErr("redirect_uri is missing, repeated or too long")
	}
	return nil
}

// readReturnParams keeps state and response_mode when they are usable, so
// that every later refusal reaches the client as it asked. It never
// refuses: checkReturnParams does, after checkRepeated.
func readReturnParams(f authParams, req *authRequest) *oauthError {
	if state, ok := f.one("state"); ok && len(state) <= maxStateLen {
		req.State = state
	}
	req.ResponseMode = "query"
	if mode, ok := f.one("response_mode"); ok && mode == "form_post" {
		req.ResponseMode = "form_post"
	}
	return nil
}

// singleParams may appear at most once in a request.
var singleParams = []string{"response_type", "scope", "nonce", "code_challenge", "code_challenge_method",
	"prompt", "max_age", "acr_values", "request", "request_uri", "registration", "id_token_hint", "login_hint", "claims", "display", "ui_locales"}

func checkRepeated(f authParams, _ *authRequest) *oauthError {
	for _, name := range singleParams {
		if len(f[name]) > 1 {
			return newErr(errInvalidRequest, name+" is repeated")
		}
	}
	return nil
}

func checkReturnParams(f authParams, _ *authRequest) *oauthError {
	state, okState := f.one("state")
	mode, okMode := f.one("response_mode")
	switch {
	case !okState:
		return newErr(errInvalidRequest, "state is repeated")
	case len(state) > maxStateLen:
		return newErr(errInvalidRequest, fmt.Sprintf("state is too long (%d bytes, at most %d)", len(state), maxStateLen))
	case !okMode:
		return newErr(errInvalidRequest, "response_mode is repeated")
	case mode != "" && mode != "query" && mode != "form_post":
		return newErr(errInvalidRequest, "response_mode must be query or form_post")
	}
	return nil
}

// checkUnsupported refuses the optional features the provider does not
// offer, each with its own error code.
func checkUnsupported(f authParams, _ *authRequest) *oauthError {
	switch {
	case f.get("request") != "":
		return newErr(errRequestNotSupported, "request objects are not supported")
	case f.get("request_uri") != "":
		return newErr(errRequestURINotSupported, "request_uri is not supported")
	case f.get("registration") != "":
		return newErr(errRegistrationNotSupp, "registration is not supported")
	}
	return nil
}

func checkResponseType(f authParams, _ *authRequest) *oauthError {
	switch f.get("response_type") {
	case "code":
		return nil
	case "":
		return newErr(errInvalidRequest, "response_type is missing")
	default:
		return newErr(errUnsupportedResponseType, "only response_type=code is supported")
	}
}

func readScope(f authParams, req *authRequest) *oauthError {
	scope := f.get("scope")
	if len(scope) > maxParamLen {
		return newErr(errInvalidRequest, "scope is too long")
	}
	req.Scopes = strings.Fields(scope)
	if !contains(req.Scopes, ScopeOpenID) {
		return newErr(errInvalidScope, "the openid scope is required")
	}
	return nil
}

func readNonce(f authParams, req *authRequest) *oauthError {
	req.Nonce = f.get("nonce")
	if len(req.Nonce) > maxNonceLen {
		return newErr(errInvalidRequest, fmt.Sprintf("nonce is too long (%d bytes, at most %d)", len(req.Nonce), maxNonceLen))
	}
	return nil
}

// readChallenge requires PKCE with S256 (RFC 7636 4.3).
func readChallenge(f authParams, req *authRequest) *oauthError {
	req.Challenge = f.get("code_challenge")
	switch {
	case req.Challenge == "":
		return newErr(errInvalidRequest, "code_challenge is required (PKCE with S256)")
	case f.get("code_challenge_method") != "S256":
		return newErr(errInvalidRequest, "code_challenge_method must be S256; plain is not supported")
	case len(req.Challenge) != challengeLen || !isBase64URL(req.Challenge):
		return newErr(errInvalidRequest, "code_challenge must be the base64url SHA-256 of the verifier")
	}
	return nil
}

func readPrompt(f authParams, req *authRequest) *oauthError {
	prompts := strings.Fields(f.get("prompt"))
	req.Prompts = prompts
	for _, pr := range prompts {
		switch pr {
		case "none", "login":
			req.Prompt = pr
		case "consent", "select_account":
			// No consent or account choice to show: the card is the account.
		default:
			return newErr(errInvalidRequest, "prompt must be none or login")
		}
	}
	if contains(prompts, "none") && len(prompts) > 1 {
		return newErr(errInvalidRequest, "prompt=none cannot be combined with other values")
	}
	return nil
}

func readMaxAge(f authParams, req *authRequest) *oauthError {
	s := f.get("max_age")
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxAgeCeiling {
		return newErr(errInvalidRequest, "max_age must be a non-negative number of seconds")
	}
	req.MaxAge = n
	return nil
}

// readClaims reads the claims parameter (OpenID Connect Core 5.5).
func readClaims(f authParams, req *authRequest) *oauthError {
	raw := f.get("claims")
	if len(raw) > maxParamLen {
		return newErr(errInvalidRequest, fmt.Sprintf("claims is too long (%d bytes, at most %d)", len(raw), maxParamLen))
	}
	rc, err := parseClaimsParam(raw)
	if err != nil {
		return newErr(errInvalidRequest, err.Error())
	}
	req.Claims = rc
	return nil
}

// uiLocale returns the first language of ui_locales (OpenID Connect Core
// 3.1.2.1: space-separated BCP 47 tags, in order of preference) that the
// pages speak, "" when none or when the parameter is repeated. It never
// refuses: an unknown language falls back to Accept-Language.
func uiLocale(form map[string][]string) web.Lang {
	v := form["ui_locales"]
	if len(v) != 1 || len(v[0]) > maxParamLen {
		return ""
	}
	l, _ := web.LocalesLang(v[0])
	return l
}

func readACRValues(f authParams, req *authRequest) *oauthError {
	acr := f.get("acr_values")
	if len(acr) > maxParamLen {
		return newErr(errInvalidRequest, "acr_values is too long")
	}
	req.ACRValues = strings.Fields(acr)
	return nil
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
