package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// Everything the provider remembers lives in the shared Ephemeral store,
// under these namespaces, so that any replica serves any request:
//
//	oidc.code        code → grant, for codeTTL; once redeemed, the usedMarker
//	                 swapped in for it, for usedTTL: a replay revokes the family
//	oidc.code.used   code → usedMarker, where the earlier layout put it: still
//	                 read, so that a code spent by a replica not yet upgraded
//	                 is caught
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
	Family      string   `json:"family"`
	ClientID    string   `json:"client_id"`
	Scopes      []string `json:"scopes"`
	SessionHash string   `json:"session"`
	FiscalCode  string   `json:"fiscal_code"`
	SID         string   `json:"sid"`
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

// newCode gives g a new family and returns a new code with the entry that
// stores g under it, for the caller to put (with the participant: one
// round trip, sessions.AddParticipantAndPut).
func (p *Provider) newCode(g *grant) (string, sessions.Entry, error) {
	family, err := p.newFamily()
	if err != nil {
		return "", sessions.Entry{}, err
	}
	code, err := p.newSecret()
	if err != nil {
		return "", sessions.Entry{}, err
	}
	g.Family = family
	raw, err := g.MarshalJSON()
	if err != nil {
		return "", sessions.Entry{}, err
	}
	return code, sessions.Entry{NS: nsCode, Key: code, Val: raw, TTL: codeTTL}, nil
}

// newFamily returns the id of a new token family: 128 random bits,
// base64url. It names the family in the store (its revocation marker) and
// in every grant of it, and is never handed out, so it needs no more.
func (p *Provider) newFamily() (string, error) {
	if p.rand == nil {
		return "", errors.New("oidc: no source of randomness")
	}
	var b [16]byte
	if _, err := io.ReadFull(p.rand, b[:]); err != nil {
		return "", fmt.Errorf("oidc: token family id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// spent reports whether g was decoded from a used marker (usedMarkerOf),
// not a grant: only a grant names its session.
func (g *grant) spent() bool { return g.SessionHash == "" }

// storedGrant reports whether raw, a value stored under a code, is the
// grant rather than the marker of its redemption.
func storedGrant(raw []byte) bool {
	var g grant
	return g.UnmarshalJSON(raw) == nil && !g.spent()
}

// getGrant reads the grant stored under key; sessions.ErrNotFound when
// there is none.
func (p *Provider) getGrant(ctx context.Context, ns, key string) (*grant, error) {
	g, _, err := p.getGrantRaw(ctx, ns, key)
	return g, err
}

// getGrantRaw is getGrant that also returns the stored value. It decodes
// with grant.UnmarshalJSON itself: through json.Unmarshal the value would
// be scanned twice.
func (p *Provider) getGrantRaw(ctx context.Context, ns, key string) (*grant, []byte, error) {
	raw, err := p.eph.Get(ctx, ns, key)
	if err != nil {
		return nil, nil, err
	}
	var g grant
	if err := g.UnmarshalJSON(raw); err != nil {
		return nil, nil, fmt.Errorf("oidc: stored grant unreadable: %w", err)
	}
	return &g, raw, nil
}

// usedMarker is what a spent code or refresh token leaves behind; a
// refresh token's also says when and by which client it was first used.
type usedMarker struct {
	Family   string    `json:"family"`
	Deadline time.Time `json:"deadline"`
	UsedAt   time.Time `json:"used_at,omitzero"`
	ClientID string    `json:"client_id,omitempty"`
}

// usedMarkerOf is what a spent code leaves behind, in the code's place:
// a later redemption finds it and revokes the family, since a replayed
// code means one of the copies is in the wrong hands.
func usedMarkerOf(g *grant) []byte {
	raw, _ := usedMarker{Family: g.Family, Deadline: g.Deadline}.MarshalJSON()
	return raw
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
	r, err := p.readLive(ctx, g)
	if err != nil {
		return nil, err
	}
	return p.liveFrom(ctx, g, r)
}

// liveOps are the reads of the two markers that kill a grant: its family
// revoked, its session ended.
func liveOps(g *grant) []sessions.Op {
	return []sessions.Op{
		{Kind: sessions.OpGet, NS: nsRevoked, Key: g.Family},
		{Kind: sessions.OpGet, NS: nsEnded, Key: g.SessionHash},
	}
}

// readLive reads, in one round trip (sessions.RunWithSession), the
// grant's session by its hash (never a listing of the citizen's
// sessions) and its markers (liveOps), after the operations before, whose
// results come first.
func (p *Provider) readLive(ctx context.Context, g *grant, before ...sessions.Op) (sessions.Read, error) {
	return sessions.RunWithSession(ctx, p.store, p.eph, g.SessionHash, append(before, liveOps(g)...)...)
}

// liveFrom decides liveSession from what readLive read: the markers are
// its last two results.
func (p *Provider) liveFrom(ctx context.Context, g *grant, r sessions.Read) (*sessions.Session, error) {
	if !p.now().Before(g.Deadline) {
		return nil, errGrantDead
	}
	n := len(r.Results)
	if r.Results[n-2].Val != nil || r.Results[n-1].Val != nil {
		return nil, errGrantDead
	}
	s, err := r.Session, r.Err
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
// It is sessions.HashKey("sid:"+sessionHash+":"+clientID)[:32], computed
// without the intermediate strings: every grant encoded or decoded
// derives it.
func sidFor(sessionHash, clientID string) string {
	var in [192]byte
	sum := sha256.Sum256(append(append(append(append(in[:0], "sid:"...), sessionHash...), ':'), clientID...))
	return hex.EncodeToString(sum[:16])
}
