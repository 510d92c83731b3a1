package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// assertionAlgs are the signature algorithms accepted for private_key_jwt
// client assertions: asymmetric only, never none nor HMAC.
var assertionAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

const (
	// maxAssertionLife bounds how far in the future a client assertion may
	// expire, and so how long its jti is remembered.
	maxAssertionLife = time.Hour
	assertionSkew    = 30 * time.Second
)

// authenticateClient checks the credentials against the client's
// registered method (RFC 6749 2.3, RFC 7523 3, OpenID Connect Core 9).
// endpoint is the URL of the endpoint called, an accepted audience of a
// client assertion besides the issuer and the token endpoint.
func (p *Provider) authenticateClient(ctx context.Context, cr credentials, endpoint string) (*client, *oauthError) {
	id := cr.ClientID
	if id == "" && cr.Assertion != "" {
		if tok, err := jwt.ParseInsecure([]byte(cr.Assertion)); err == nil {
			id = tok.Issuer()
		}
	}
	c, err := p.lookupClient(ctx, id)
	if errors.Is(err, ErrUnknownClient) {
		return nil, newErr(errInvalidClient, "unknown client")
	}
	if err != nil {
		p.logger.InfoContext(ctx, "client not resolved", "client_id", id, "err", err)
		return nil, newErr(errInvalidClient, unknownClient(err))
	}
	if !p.credentialsMatch(ctx, c, cr, endpoint) {
		return nil, newErr(errInvalidClient, "client authentication failed")
	}
	return c, nil
}

// credentialsMatch reports whether cr authenticates c by the one method
// the client registered: a secret sent the registered way, a signed
// assertion, or nothing at all for a public client.
func (p *Provider) credentialsMatch(ctx context.Context, c *client, cr credentials, endpoint string) bool {
	switch c.method {
	case AuthClientSecretBasic:
		return cr.Basic && c.secretMatches(cr.Secret)
	case AuthClientSecretPost:
		return !cr.Basic && c.secretMatches(cr.Secret)
	case AuthPrivateKeyJWT:
		if cr.Assertion == "" {
			return false
		}
		if err := p.verifyAssertion(ctx, c, cr.Assertion, endpoint); err != nil {
			p.logger.InfoContext(ctx, "client assertion refused", "client_id", c.id, "err", err)
			return false
		}
		return true
	case AuthNone:
		return cr.Secret == "" && cr.Assertion == ""
	default:
		return false
	}
}

// verifyAssertion checks a private_key_jwt client assertion: signed by one
// of the client's keys with an asymmetric algorithm, iss and sub the
// client, aud us, unexpired, and its jti never seen before.
func (p *Provider) verifyAssertion(ctx context.Context, c *client, raw, endpoint string) error {
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 {
		return errors.New("not a single-signature JWS")
	}
	if alg := msg.Signatures()[0].ProtectedHeaders().Algorithm().String(); !contains(assertionAlgs, alg) {
		return fmt.Errorf("algorithm %q not accepted", alg)
	}
	set, err := p.clientKeys(ctx, c, false)
	if err != nil {
		return err
	}
	tok, err := p.parseAssertion(raw, c, set)
	if err != nil && c.jwksURI != "" {
		// The client may have rotated its keys: fetch them again, at most
		// once a minute, and retry.
		if fresh, ferr := p.clientKeys(ctx, c, true); ferr == nil && fresh != set {
			tok, err = p.parseAssertion(raw, c, fresh)
		}
	}
	if err != nil {
		return err
	}
	if !p.audienceOK(tok.Audience(), endpoint) {
		return fmt.Errorf("audience %v does not name this provider", tok.Audience())
	}
	life := tok.Expiration().Sub(p.now())
	if life > maxAssertionLife {
		return fmt.Errorf("expires in %s, more than %s", life, maxAssertionLife)
	}
	first, err := p.eph.PutNew(ctx, nsJTI, c.id+"\x00"+tok.JwtID(), nil, life+assertionSkew+time.Second)
	if err != nil {
		return err
	}
	if !first {
		return errors.New("jti already used: assertion replayed")
	}
	return nil
}

// parseAssertion verifies a client assertion's signature with the keys in
// set and its claims: issued by and about the client, unexpired, with an
// id.
func (p *Provider) parseAssertion(raw string, c *client, set jwk.Set) (jwt.Token, error) {
	return jwt.Parse([]byte(raw),
		jwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true), jws.WithRequireKid(false)),
		jwt.WithValidate(true), jwt.WithClock(jwt.ClockFunc(p.now)), jwt.WithAcceptableSkew(assertionSkew),
		jwt.WithIssuer(c.id), jwt.WithSubject(c.id),
		jwt.WithRequiredClaim(jwt.ExpirationKey), jwt.WithRequiredClaim(jwt.JwtIDKey))
}

// audienceOK reports whether an assertion's audience names this provider:
// its issuer, its token endpoint, or the endpoint the assertion was sent to.
func (p *Provider) audienceOK(aud []string, endpoint string) bool {
	for _, a := range aud {
		if a == p.issuer || a == p.issuer+PathToken || a == endpoint {
			return true
		}
	}
	return false
}

// clientKeys returns the client's keys: inline, or fetched from its
// jwks_uri and cached.
func (p *Provider) clientKeys(ctx context.Context, c *client, refresh bool) (jwk.Set, error) {
	if c.keys != nil {
		return c.keys, nil
	}
	return p.remote.get(ctx, c.jwksURI, refresh)
}

// remoteKeys caches the JWK Sets of clients' jwks_uri.
type remoteKeys struct {
	http *http.Client
	now  func() time.Time

	mu    sync.Mutex
	cache map[string]remoteSet
}

type remoteSet struct {
	set     jwk.Set
	fetched time.Time
}

const (
	remoteTTL        = time.Hour
	remoteMinRefresh = time.Minute
	maxJWKSBytes     = 1 << 20
)

func newRemoteKeys(c *http.Client, now func() time.Time) *remoteKeys {
	return &remoteKeys{http: c, now: now, cache: map[string]remoteSet{}}
}

// get returns the cached set of uri while it is fresh; refresh asks for a
// new fetch unless the last one is under a minute old. A failed fetch
// falls back on the cached set.
func (k *remoteKeys) get(ctx context.Context, uri string, refresh bool) (jwk.Set, error) {
	k.mu.Lock()
	cached, ok := k.cache[uri]
	k.mu.Unlock()
	age := k.now().Sub(cached.fetched)
	if ok && (age < remoteMinRefresh || !refresh && age < remoteTTL) {
		return cached.set, nil
	}
	set, err := k.fetch(ctx, uri)
	if err != nil {
		if ok {
			return cached.set, nil
		}
		return nil, err
	}
	k.mu.Lock()
	k.cache[uri] = remoteSet{set: set, fetched: k.now()}
	k.mu.Unlock()
	return set, nil
}

func (k *remoteKeys) fetch(ctx context.Context, uri string) (jwk.Set, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := k.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching jwks_uri: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching jwks_uri: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetching jwks_uri: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, errors.New("fetching jwks_uri: larger than 1 MiB")
	}
	set, err := jwk.Parse(body)
	if err != nil || set.Len() == 0 {
		return nil, fmt.Errorf("jwks_uri holds no JWK Set: %v", err)
	}
	return set, nil
}
