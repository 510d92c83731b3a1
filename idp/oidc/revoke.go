package oidc

import (
	"context"
	"errors"
	"github.com/cnsgate/cnsgate/idp/registry"
	"net/http"
	"strings"

	"github.com/cnsgate/cnsgate/sessions"
)

// authenticated reads a back-channel form and authenticates its client, for
// /revoke and /introspect.
func (p *Provider) authenticated(w http.ResponseWriter, r *http.Request, path string) (*client, string, *oauthError) {
	form, e := readForm(w, r)
	if e != nil {
		return nil, "", e
	}
	creds, e := parseCredentials(form, r.Header.Get("Authorization"))
	if e != nil {
		return nil, "", e
	}
	c, e := p.authenticateClient(r.Context(), creds, p.issuer+path)
	if e != nil {
		return nil, "", e
	}
	token, _, e := parseTokenParam(form)
	return c, token, e
}

// looksLikeJWT tells a jwt access token (a JWS) from an opaque token, an
// access or a refresh one (told apart by where its record is found);
// token_type_hint is only a hint, so the token's shape decides.
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }

// revoke is the revocation endpoint (RFC 7009). An access token stops
// being honoured at once; a refresh token takes its whole family with it.
// Tokens of other clients and unknown tokens are ignored, as the RFC asks.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	c, token, e := p.authenticated(w, r, PathRevoke)
	if e == nil {
		if err := p.revokeToken(r.Context(), c, token); err != nil {
			e = p.unavailable(r, "sessions", err)
		}
	}
	if e != nil {
		writeError(w, r, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (p *Provider) revokeToken(ctx context.Context, c *client, token string) error {
	g, err := p.accessRecord(ctx, token)
	switch {
	case err == nil:
		if g.ClientID != c.id {
			return nil
		}
		return p.eph.Delete(ctx, nsAccess, accessKey(token))
	case errors.Is(err, errUnknownAccess) && !looksLikeJWT(token):
		// Not an access token: perhaps a refresh token.
	case errors.Is(err, errBadToken):
		return nil
	default:
		return err
	}
	g, err = p.getGrant(ctx, nsRefresh, token)
	if err != nil {
		return ignoreNotFound(err)
	}
	if g.ClientID != c.id {
		return nil
	}
	p.logger.InfoContext(ctx, "oidc token family revoked", "client_id", c.id)
	p.svc.Audit(ctx, registry.Event{Kind: registry.KindTokenRevoked, Outcome: registry.OutcomeSuccess, Client: c.id,
		Detail: []byte(`{"by":"client"}`)})
	return p.revokeFamily(ctx, g.Family, g.Deadline)
}

func ignoreNotFound(err error) error {
	if errors.Is(err, sessions.ErrNotFound) {
		return nil
	}
	return err
}

// introspect is the introspection endpoint (RFC 7662). A client learns
// about its own tokens only: any other token is reported inactive, so the
// endpoint cannot be used to probe tokens of other clients.
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	c, token, e := p.authenticated(w, r, PathIntrospect)
	if e != nil {
		writeError(w, r, e)
		return
	}
	resp, err := p.introspection(r.Context(), c, token)
	if err != nil {
		e := p.unavailable(r, "sessions", err)
		writeError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (p *Provider) introspection(ctx context.Context, c *client, token string) (map[string]any, error) {
	g, sess, tc, err := p.accessGrant(ctx, token)
	switch {
	case errors.Is(err, errUnknownAccess) && !looksLikeJWT(token):
		return p.introspectRefresh(ctx, c, token) // not an access token
	case errors.Is(err, errBadToken) || errors.Is(err, errGrantDead) || (err == nil && tc.id != c.id):
		return inactive(), nil
	case err != nil:
		return nil, err
	}
	// Set one by one: a map literal to copy from would be a second map
	// per request.
	out := authClaims(sess, g)
	out["active"], out["token_type"], out["scope"], out["client_id"] = true, "Bearer", scopeString(g.Scopes), c.id
	out["sub"], out["exp"], out["iss"], out["aud"] = p.subject(c, sess.FiscalCode), g.Expires.Unix(), p.issuer, p.issuer+PathUserinfo
	return out, nil
}

func inactive() map[string]any { return map[string]any{"active": false} }

// introspectRefresh describes a refresh token of client c.
func (p *Provider) introspectRefresh(ctx context.Context, c *client, token string) (map[string]any, error) {
	g, err := p.getGrant(ctx, nsRefresh, token)
	if errors.Is(err, sessions.ErrNotFound) {
		return inactive(), nil
	}
	if err != nil {
		return nil, err
	}
	if g.ClientID != c.id {
		return inactive(), nil
	}
	if _, err := p.eph.Get(ctx, nsRTUsed, token); err == nil {
		return inactive(), nil // rotated
	} else if !errors.Is(err, sessions.ErrNotFound) {
		return nil, err
	}
	sess, err := p.liveSession(ctx, g)
	if errors.Is(err, errGrantDead) {
		return inactive(), nil
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"active": true, "token_type": "refresh_token", "scope": scopeString(g.Scopes), "client_id": c.id,
		"sub": p.subject(c, sess.FiscalCode), "exp": g.Deadline.Unix(), "iss": p.issuer, ClaimSID: g.SID,
	}, nil
}
