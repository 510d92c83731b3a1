package oidc

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// Grant types and the client assertion type.
const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	assertionTypeJWT       = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	maxTokenLen            = 8192 // a client assertion is the longest input
)

// credentials are what a client presented to authenticate itself at a
// back-channel endpoint (RFC 6749 2.3, RFC 7523).
type credentials struct {
	ClientID      string // from the form or the Basic header
	Secret        string
	Basic         bool // the secret came in the Authorization header
	AssertionType string
	Assertion     string
}

// tokenRequest is a request to /token.
type tokenRequest struct {
	credentials
	GrantType    string
	Code         string
	RedirectURI  string
	Verifier     string
	RefreshToken string
	Scope        []string // refresh: a narrower scope; nil keeps the grant's
}

// parseCredentials reads the client's credentials from the form and the
// Authorization header. Using more than one method is refused.
func parseCredentials(form url.Values, authorization string) (credentials, *oauthError) {
	var c credentials
	for _, name := range []string{"client_id", "client_secret", "client_assertion_type", "client_assertion"} {
		if len(form[name]) > 1 {
			return c, newErr(errInvalidRequest, name+" is repeated")
		}
		if len(form.Get(name)) > maxTokenLen {
			return c, newErr(errInvalidRequest, name+" is too long")
		}
	}
	c.ClientID = form.Get("client_id")
	c.Secret = form.Get("client_secret")
	c.AssertionType = form.Get("client_assertion_type")
	c.Assertion = form.Get("client_assertion")
	if authorization != "" {
		id, secret, ok := parseBasic(authorization)
		if !ok {
			return c, newErr(errInvalidClient, "the Authorization header is not HTTP Basic with form-encoded id and secret")
		}
		if c.Secret != "" || c.Assertion != "" {
			return c, newErr(errInvalidRequest, "more than one client authentication method")
		}
		if c.ClientID != "" && c.ClientID != id {
			return c, newErr(errInvalidClient, "client_id differs from the Basic credentials")
		}
		c.ClientID, c.Secret, c.Basic = id, secret, true
	}
	if c.Secret != "" && c.Assertion != "" {
		return c, newErr(errInvalidRequest, "more than one client authentication method")
	}
	if c.Assertion != "" && c.AssertionType != assertionTypeJWT {
		return c, newErr(errInvalidClient, "client_assertion_type must be "+assertionTypeJWT)
	}
	return c, nil
}

// parseBasic decodes HTTP Basic credentials whose parts are form-encoded
// (RFC 6749 2.3.1).
func parseBasic(h string) (id, secret string, ok bool) {
	const prefix = "Basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) || len(h) > maxTokenLen {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	rawID, rawSecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if id, err = url.QueryUnescape(rawID); err != nil || id == "" {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// parseTokenRequest reads a token request (RFC 6749 4.1.3 and 6, RFC 7636
// 4.5). Parameters may not repeat.
func parseTokenRequest(form url.Values, authorization string) (tokenRequest, *oauthError) {
	var req tokenRequest
	for _, name := range []string{"grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope"} {
		if len(form[name]) > 1 {
			return req, newErr(errInvalidRequest, name+" is repeated")
		}
		if len(form.Get(name)) > maxParamLen {
			return req, newErr(errInvalidRequest, name+" is too long")
		}
	}
	creds, err := parseCredentials(form, authorization)
	if err != nil {
		return req, err
	}
	req.credentials = creds
	req.GrantType = form.Get("grant_type")
	switch req.GrantType {
	case grantAuthorizationCode:
		req.Code, req.RedirectURI, req.Verifier = form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
		switch {
		case req.Code == "":
			return req, newErr(errInvalidRequest, "code is missing")
		case req.RedirectURI == "":
			return req, newErr(errInvalidRequest, "redirect_uri is missing")
		case req.Verifier == "":
			return req, newErr(errInvalidRequest, "code_verifier is missing (PKCE is required)")
		case !isVerifier(req.Verifier):
			return req, newErr(errInvalidGrant, "code_verifier is malformed")
		}
	case grantRefreshToken:
		req.RefreshToken = form.Get("refresh_token")
		if req.RefreshToken == "" {
			return req, newErr(errInvalidRequest, "refresh_token is missing")
		}
		if form.Has("scope") {
			req.Scope = strings.Fields(form.Get("scope"))
		}
	case "":
		return req, newErr(errInvalidRequest, "grant_type is missing")
	default:
		return req, newErr(errUnsupportedGrantType, "grant_type must be authorization_code or refresh_token")
	}
	return req, nil
}

// parseTokenParam reads the token of /revoke and /introspect (RFC 7009
// 2.1, RFC 7662 2.1).
func parseTokenParam(form url.Values) (token, hint string, e *oauthError) {
	if len(form["token"]) != 1 || form.Get("token") == "" {
		return "", "", newErr(errInvalidRequest, "token is missing or repeated")
	}
	if len(form.Get("token")) > maxTokenLen || len(form["token_type_hint"]) > 1 {
		return "", "", newErr(errInvalidRequest, "token is too long or token_type_hint repeated")
	}
	return form.Get("token"), form.Get("token_type_hint"), nil
}
