package oidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Signed request objects (RFC 9101, OpenID Connect Core 6.1): the request
// parameter is a JWT signed by the client with one of its keys (inline
// jwks, jwks_uri, or its federation metadata), issued by the client for
// this provider, short-lived, its jti seen once; its claims are the
// authorization request and win over the parameters beside it. The jti is
// remembered in sessions.Ephemeral, so that a replay is caught by any
// replica.
//
// A client of the plain oidc profile may also send an unsigned request
// object (alg none, OpenID Connect Core 6.1; discovery lists none as RFC
// 8414 and Authlib's metadata check expect): it is read as its parameters
// would be, and counts as unsigned, so a spid or cie client, which must
// sign (profile_authorize.go), is refused one.

const (
	// nsRequestJTI: client id + request object jti, the request objects
	// seen, until they expire.
	nsRequestJTI = "oidc.jar"
	// maxRequestLen bounds the request parameter.
	maxRequestLen = 16 << 10
	// maxRequestLife bounds how far in the future a request object may
	// expire and how old it may be, and so how long its jti is kept.
	maxRequestLife = time.Hour
	// requestSkew is the clock skew allowed on exp, iat and nbf.
	requestSkew = 30 * time.Second
)

// signedRequestAlgs are the signature algorithms accepted on request
// objects: asymmetric only, never HMAC. requestObjectAlgs, as discovery
// lists them, add none (unsigned, plain clients only).
var (
	signedRequestAlgs = []string{AlgRS256, AlgRS512, AlgPS256, AlgES256, "RS384", "PS384", "PS512", "ES384", "ES512"}
	requestObjectAlgs = append([]string{"none"}, signedRequestAlgs...)
)

// jwtOnlyClaims are claims of the request object that are not
// authorization parameters.
var jwtOnlyClaims = []string{"iss", "aud", "exp", "iat", "nbf", "jti", "sub", "request", "request_uri"}

// parseRequest reads an authorization request, its request object first
// when there is one: verified, its claims merged over the parameters.
// Signed reports that a request object was verified.
func (p *Provider) parseRequest(ctx context.Context, form url.Values) (authRequest, *oauthError) {
	if _, present := form["request"]; !present {
		return parseAuthorize(form)
	}
	outer := authRequest{MaxAge: -1}
	if err := readClientID(authParams(form), &outer); err != nil {
		return outer, err
	}
	outer.RedirectURI = authParams(form).get("redirect_uri")
	_ = readReturnParams(authParams(form), &outer)
	c, lerr := p.lookupClient(ctx, outer.ClientID)
	if lerr != nil {
		return outer, pageErr(unknownClient(lerr))
	}
	merged, signed, err := p.requestObject(ctx, c, form)
	if err != nil {
		p.countRefusal(c.id, RefusalRequestObject)
		if !c.redirectAllowed(outer.RedirectURI) {
			// Nothing trusted to redirect to: the reason goes on the page.
			return outer, pageErr("invalid request object: " + err.Error())
		}
		return outer, newErr(errInvalidRequestObject, err.Error())
	}
	req, perr := parseAuthorize(merged)
	req.Signed, req.Lang = signed, string(uiLocale(merged))
	return req, perr
}

// requestObject verifies the request object of form for client c and
// returns the parameters of the request: those of form, overridden by the
// claims of the object, without request; signed is false for an unsigned
// object of a plain client.
func (p *Provider) requestObject(ctx context.Context, c *client, form url.Values) (merged url.Values, signed bool, err error) {
	raw := form["request"]
	switch {
	case len(raw) != 1 || raw[0] == "":
		return nil, false, errors.New("request is empty or repeated")
	case len(raw[0]) > maxRequestLen:
		return nil, false, fmt.Errorf("request is too long (%d bytes, at most %d)", len(raw[0]), maxRequestLen)
	case form.Get("request_uri") != "":
		return nil, false, errors.New("request and request_uri cannot be sent together")
	}
	if claims, ok, err := readUnsignedRequest(c, raw[0]); ok || err != nil {
		if err != nil {
			return nil, false, err
		}
		merged, err = mergeRequest(c, form, claims)
		return merged, false, err
	}
	if c.keys == nil && c.jwksURI == "" {
		return nil, false, fmt.Errorf("client %s has no jwks or jwks_uri to verify request objects with", c.id)
	}
	tok, err := p.verifyRequestObject(ctx, c, raw[0])
	if err != nil {
		return nil, false, err
	}
	claims, err := tok.AsMap(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("request object claims unreadable: %v", err)
	}
	merged, err = mergeRequest(c, form, claims)
	return merged, true, err
}

// readUnsignedRequest reads raw when it is an unsigned JWT (alg none, an empty
// signature): its claims, ok true. A spid or cie client is refused one.
// Anything else is left to the signature check (ok false).
func readUnsignedRequest(c *client, raw string) (map[string]any, bool, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false, nil
	}
	head, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, false, nil
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(head, &h) != nil || h.Alg != "none" {
		return nil, false, nil
	}
	switch {
	case c.italian():
		return nil, true, fmt.Errorf("an unsigned request object (alg none) is refused for a %s client", c.profile)
	case parts[2] != "":
		return nil, true, errors.New("an unsigned request object (alg none) must have an empty signature")
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(body, &claims) != nil {
		return nil, true, errors.New("unsigned request object: claims unreadable")
	}
	return claims, true, nil
}

// verifyRequestObject checks the signature (retrying once with fresh keys
// from jwks_uri), the claims and that the jti is new.
func (p *Provider) verifyRequestObject(ctx context.Context, c *client, raw string) (jwt.Token, error) {
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, errors.New("request is not a signed JWT (a compact JWS with one signature)")
	}
	if alg := msg.Signatures()[0].ProtectedHeaders().Algorithm().String(); !contains(signedRequestAlgs, alg) {
		return nil, fmt.Errorf("request object algorithm %q not accepted", alg)
	}
	set, err := p.clientKeys(ctx, c, false)
	if err != nil {
		return nil, fmt.Errorf("the client's keys are unavailable: %v", err)
	}
	tok, err := p.parseRequestObject(raw, c, set)
	if err != nil && c.jwksURI != "" {
		if fresh, ferr := p.clientKeys(ctx, c, true); ferr == nil && fresh != set {
			tok, err = p.parseRequestObject(raw, c, fresh)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("request object refused: %v", err)
	}
	return tok, p.requestObjectFresh(ctx, c, tok)
}

// parseRequestObject verifies the signature with the keys of set and the
// claims: iss the client, aud this provider, exp, iat and jti present,
// within the skew.
func (p *Provider) parseRequestObject(raw string, c *client, set jwk.Set) (jwt.Token, error) {
	return jwt.Parse([]byte(raw),
		jwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true), jws.WithRequireKid(false)),
		jwt.WithValidate(true), jwt.WithClock(jwt.ClockFunc(p.now)), jwt.WithAcceptableSkew(requestSkew),
		jwt.WithIssuer(c.id), jwt.WithAudience(p.issuer),
		jwt.WithRequiredClaim(jwt.ExpirationKey), jwt.WithRequiredClaim(jwt.IssuedAtKey), jwt.WithRequiredClaim(jwt.JwtIDKey))
}

// requestObjectFresh bounds the object's life and records its jti, once.
func (p *Provider) requestObjectFresh(ctx context.Context, c *client, tok jwt.Token) error {
	now := p.now()
	life := tok.Expiration().Sub(now)
	switch {
	case life > maxRequestLife:
		return fmt.Errorf("request object expires in %s, more than %s", life.Round(time.Second), maxRequestLife)
	case now.Sub(tok.IssuedAt()) > maxRequestLife:
		return fmt.Errorf("request object issued %s ago, more than %s", now.Sub(tok.IssuedAt()).Round(time.Second), maxRequestLife)
	}
	first, err := p.eph.PutNew(ctx, nsRequestJTI, c.id+"\x00"+tok.JwtID(), nil, life+requestSkew+time.Second)
	if err != nil {
		return fmt.Errorf("request object jti not recorded: %v", err)
	}
	if !first {
		return errors.New("request object jti already used: request replayed")
	}
	return nil
}

// mergeRequest returns form without request, each authorization parameter
// of claims written over it (RFC 9101 6.3). client_id, when inside, must
// be the client's; a spid or cie client must send the same scope in both.
func mergeRequest(c *client, form url.Values, claims map[string]any) (url.Values, error) {
	if id, ok := claims["client_id"]; ok && id != c.id {
		return nil, fmt.Errorf("request object client_id %v is not the request's %s", id, c.id)
	}
	out := url.Values{}
	for k, v := range form {
		if k != "request" {
			out[k] = v
		}
	}
	for k, v := range claims {
		if contains(jwtOnlyClaims, k) {
			continue
		}
		s, err := paramString(v)
		if err != nil {
			return nil, fmt.Errorf("request object claim %s: %v", k, err)
		}
		out[k] = []string{s}
	}
	if c.italian() && form.Get("scope") != out.Get("scope") {
		return nil, errors.New("scope must be sent both as a parameter and in the request object, with the same value")
	}
	return out, nil
}

// paramString is a claim of a request object as the parameter value:
// strings as they are, numbers in decimal, objects (claims) as JSON.
func paramString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		if x != float64(int64(x)) {
			return "", errors.New("not an integer")
		}
		return strconv.FormatInt(int64(x), 10), nil
	case json.Number:
		return x.String(), nil
	case map[string]any:
		b, err := json.Marshal(x)
		return string(b), err
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("unsupported type %T", v)
}
