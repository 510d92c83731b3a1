package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// Everything the provider remembers lives in the shared Ephemeral store,
// under these namespaces, so that any replica serves any request:
//
//	oidc.code        code → grant, for codeTTL
//	oidc.code.used   code → usedMarker, once redeemed: a replay revokes the family
//	oidc.rt          refresh token → grant, until the session's deadline
//	oidc.rt.used     refresh token → usedMarker, once rotated: a reuse past the grace revokes it
//	oidc.rt.grace    refresh token → the first use's answer, sealed, for the reuse grace
//	oidc.at          SHA-256 of an access token (opaque or jwt) → grant, for the token's life
//	oidc.revoked     family → "", a revoked token family
//	oidc.ended       session IDHash → cause, a session that ended
//	oidc.jti         client id + assertion jti, seen client assertions
const (
	nsCode     = "oidc.code"
	nsCodeUsed = "oidc.code.used"
	nsRefresh  = "oidc.rt"
	nsRTUsed   = "oidc.rt.used"
	nsRTGrace  = "oidc.rt.grace"
	nsAccess   = "oidc.at"
	nsRevoked  = "oidc.revoked"
	nsEnded    = "oidc.ended"
	nsJTI      = "oidc.jti"

	codeTTL = 60 * time.Second
	// usedTTL keeps the marker of a redeemed code long enough to catch a
	// replay well after the code itself would have expired.
	usedTTL = 10 * time.Minute
)

// errGrantDead reports a grant whose family was revoked or whose session
// ended; tokens of it are no longer honoured.
var errGrantDead = errors.New("oidc: grant revoked or session ended")

// grant is one authorization of a client in a session: what a code, a
// refresh token and an access token stand for. Every token derived from one
// code shares its Family.
type grant struct {
	Family      string    `json:"family"`
	ClientID    string    `json:"client_id"`
	Scopes      []string  `json:"scopes"`
	SessionHash string    `json:"session"`
	FiscalCode  string    `json:"fiscal_code"`
	SID         string    `json:"sid"`
	AuthTime    time.Time `json:"auth_time"`
	// Deadline is the session's absolute deadline: no token outlives it.
	Deadline time.Time `json:"deadline"`

	// Of the code only.
	RedirectURI string `json:"redirect_uri,omitempty"`
	Challenge   string `json:"code_challenge,omitempty"`
	Nonce       string `json:"nonce,omitempty"`

	// Claims asked for by name (the claims parameter); the tokens derived
	// from the code keep them.
	Claims *requestedClaims `json:"claims,omitempty"`

	// ACR is the authentication level the request asked for and the login
	// met (acr_values), "" for the session's; Offline says that a spid or
	// cie client asked for offline_access with prompt=consent, the only
	// grant of theirs with refresh tokens.
	ACR     string `json:"acr,omitempty"`
	Offline bool   `json:"offline,omitempty"`

	// Of an access token only: when it expires.
	Expires time.Time `json:"expires,omitzero"`
}

// issueCode stores g under a new code and returns the code.
func (p *Provider) issueCode(ctx context.Context, g *grant) (string, error) {
	family, err := p.newSecret()
	if err != nil {
		return "", err
	}
	code, err := p.newSecret()
	if err != nil {
		return "", err
	}
	g.Family = family
	if err := p.putJSON(ctx, nsCode, code, g, codeTTL); err != nil {
		return "", err
	}
	return code, nil
}

func (p *Provider) putJSON(ctx context.Context, ns, key string, v any, ttl time.Duration) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return p.eph.Put(ctx, ns, key, raw, ttl)
}

// getGrant reads the grant stored under key; sessions.ErrNotFound when
// there is none.
func (p *Provider) getGrant(ctx context.Context, ns, key string) (*grant, error) {
	raw, err := p.eph.Get(ctx, ns, key)
	if err != nil {
		return nil, err
	}
	var g grant
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, fmt.Errorf("oidc: stored grant unreadable: %w", err)
	}
	return &g, nil
}

// usedMarker is what a spent code or refresh token leaves behind; a
// refresh token's also says when and by which client it was first used.
type usedMarker struct {
	Family   string    `json:"family"`
	Deadline time.Time `json:"deadline"`
	UsedAt   time.Time `json:"used_at,omitzero"`
	ClientID string    `json:"client_id,omitempty"`
}

// claimOnce marks key of ns as used, recording its family, and reports
// whether this caller was the first. A later caller revokes the family:
// a replayed code or a reused refresh token means one of the copies is in
// the wrong hands.
func (p *Provider) claimOnce(ctx context.Context, ns, key string, g *grant, ttl time.Duration) (bool, error) {
	raw, _ := json.Marshal(usedMarker{Family: g.Family, Deadline: g.Deadline})
	first, err := p.eph.PutNew(ctx, ns, key, raw, ttl)
	if err != nil || first {
		return first, err
	}
	return false, p.revokeFamily(ctx, g.Family, g.Deadline)
}

// revokeReplayed revokes the family of a code or refresh token that was
// already used, when its marker is still there, and reports whether it was.
func (p *Provider) revokeReplayed(ctx context.Context, ns, key string) bool {
	raw, err := p.eph.Get(ctx, ns, key)
	if err != nil {
		return false
	}
	var m usedMarker
	if err := json.Unmarshal(raw, &m); err != nil || m.Family == "" {
		return false
	}
	if err := p.revokeFamily(ctx, m.Family, m.Deadline); err != nil {
		p.logger.ErrorContext(ctx, "replayed token family not revoked", "err", err)
	}
	return true
}

// revokeFamily makes every token of a family worthless.
func (p *Provider) revokeFamily(ctx context.Context, family string, deadline time.Time) error {
	return p.eph.Put(ctx, nsRevoked, family, nil, p.markerTTL(deadline))
}

// markerTTL keeps a revocation marker until the deadline after which no
// token it covers can be valid anyway.
func (p *Provider) markerTTL(deadline time.Time) time.Duration {
	ttl := deadline.Sub(p.now()) + time.Minute
	if floor := p.accessTTL + time.Minute; ttl < floor {
		ttl = floor
	}
	return ttl
}

// liveSession returns the session of a grant, or errGrantDead when its
// family was revoked or the session has ended, whether by logout (the
// marker) or silently by expiry (no longer stored), or its card is now
// revoked (the session is ended then: idp.Service.SessionUsable).
func (p *Provider) liveSession(ctx context.Context, g *grant) (*sessions.Session, error) {
	if !p.now().Before(g.Deadline) {
		return nil, errGrantDead
	}
	// Both markers in one round trip (sessions.GetMany).
	marks, err := sessions.GetMany(ctx, p.eph, sessions.Ref{NS: nsRevoked, Key: g.Family}, sessions.Ref{NS: nsEnded, Key: g.SessionHash})
	if err != nil {
		return nil, err
	}
	if marks[0] != nil || marks[1] != nil {
		return nil, errGrantDead
	}
	// One read of the session by its hash: never a listing of the
	// citizen's sessions.
	s, err := p.store.GetByHash(ctx, g.SessionHash)
	var exp *sessions.ExpiredError
	if errors.Is(err, sessions.ErrNotFound) || errors.As(err, &exp) {
		return nil, errGrantDead
	}
	if err != nil {
		return nil, err
	}
	if s.FiscalCode != g.FiscalCode {
		return nil, errGrantDead
	}
	// A card revoked since the grant was made ends the session and kills
	// its grants (refresh, /userinfo, /introspect, revoke).
	if err := p.svc.SessionUsable(ctx, s); err != nil {
		return nil, errGrantDead
	}
	return s, nil
}

// sidFor is the sid a client sees for a session: stable for the pair,
// different per client, and revealing nothing of the session id.
func sidFor(sessionHash, clientID string) string {
	return sessions.HashKey("sid:" + sessionHash + ":" + clientID)[:32]
}
