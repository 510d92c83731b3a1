package oidc

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// The refresh-token reuse grace. A relying party with several workers
// (Apache mod_auth_openidc under prefork) may refresh the same token from
// each of them at once: the first use rotates it, and the others, by the
// same client within the grace window, get the very answer of the first
// instead of revoking the family. The answer is kept in the shared
// Ephemeral store, so a parallel refresh served by another replica gets it
// too; it is sealed with a key derived from the refresh token itself, so
// the store never holds usable tokens for someone who does not present
// the old one. After the window a reuse still revokes the whole family.

const (
	// graceWait bounds how long a parallel refresh waits for the first
	// one's answer.
	graceWait = 5 * time.Second
	// gracePoll is how often it looks.
	gracePoll = 15 * time.Millisecond
)

// graceAnswer is what the first use of a refresh token answered.
type graceAnswer struct {
	Response *tokenResponse `json:"response,omitempty"`
	Error    string         `json:"error,omitempty"`
	Detail   string         `json:"error_description,omitempty"`
}

// claimRefresh marks a refresh token as used at now by client and reports
// whether this caller was the first; otherwise it returns the marker of
// the first use.
func (p *Provider) claimRefresh(ctx context.Context, rt string, g *grant, clientID string) (bool, *usedMarker, error) {
	m := usedMarker{Family: g.Family, Deadline: g.Deadline, UsedAt: p.now(), ClientID: clientID}
	raw, _ := json.Marshal(m)
	first, err := p.eph.PutNew(ctx, nsRTUsed, rt, raw, p.markerTTL(g.Deadline))
	if err != nil || first {
		return first, nil, err
	}
	raw, err = p.eph.Get(ctx, nsRTUsed, rt)
	if errors.Is(err, sessions.ErrNotFound) {
		return false, &usedMarker{Family: g.Family, Deadline: g.Deadline}, nil
	}
	if err != nil {
		return false, nil, err
	}
	var seen usedMarker
	if err := json.Unmarshal(raw, &seen); err != nil {
		return false, nil, fmt.Errorf("oidc: refresh marker unreadable: %w", err)
	}
	return false, &seen, nil
}

// refreshAgain answers a refresh token presented after its first use: the
// first use's answer within the grace window, by the same client, while
// the grant lives; otherwise the family is revoked.
func (p *Provider) refreshAgain(r *http.Request, c *client, g *grant, rt string, m *usedMarker) (*tokenResponse, *oauthError) {
	ctx := r.Context()
	age := p.now().Sub(m.UsedAt)
	if p.rtGrace <= 0 || m.UsedAt.IsZero() || m.ClientID != c.id || age < 0 || age >= p.rtGrace {
		if err := p.revokeFamily(ctx, g.Family, g.Deadline); err != nil {
			return nil, p.unavailable(r, "sessions", err)
		}
		p.logger.WarnContext(ctx, "oidc refresh token reused: its family is revoked", "client_id", c.id, "since_first_use", age.String())
		p.countReuse(c.id, ReuseRevoked)
		return nil, newErr(errInvalidGrant, "the refresh token was already used")
	}
	ans, err := p.awaitAnswer(ctx, rt)
	if err != nil {
		p.logger.WarnContext(ctx, "oidc parallel refresh: no answer of the first use", "client_id", c.id, "err", err)
		return nil, newErr(errInvalidGrant, "the refresh token was already used and its first use did not complete")
	}
	if ans.Error != "" {
		return nil, newErr(ans.Error, ans.Detail)
	}
	if _, err := p.liveSession(ctx, g); err != nil {
		if errors.Is(err, errGrantDead) {
			return nil, newErr(errInvalidGrant, "the session ended or the grant was revoked")
		}
		return nil, p.unavailable(r, "sessions", err)
	}
	p.logger.InfoContext(ctx, "oidc refresh token presented again within the grace window: same answer", "client_id", c.id, "since_first_use", age.String())
	p.countReuse(c.id, ReuseGraced)
	return ans.Response, nil
}

// rememberAnswer keeps the first use's answer (tokens or refusal) for the
// grace window.
func (p *Provider) rememberAnswer(ctx context.Context, rt string, resp *tokenResponse, e *oauthError) {
	if p.rtGrace <= 0 {
		return
	}
	ans := graceAnswer{Response: resp}
	if e != nil {
		ans = graceAnswer{Error: e.Code, Detail: e.Description}
	}
	sealed, err := p.sealAnswer(rt, ans)
	if err == nil {
		err = p.eph.Put(ctx, nsRTGrace, rt, sealed, p.rtGrace+time.Second)
	}
	if err != nil {
		// Parallel refreshes then find no answer and are refused; the
		// family is not revoked.
		p.logger.ErrorContext(ctx, "oidc refresh answer not kept for the grace window", "err", err)
	}
}

// awaitAnswer waits for the first use's answer, at most graceWait.
func (p *Provider) awaitAnswer(ctx context.Context, rt string) (*graceAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, graceWait)
	defer cancel()
	tick := time.NewTicker(gracePoll)
	defer tick.Stop()
	for {
		raw, err := p.eph.Get(ctx, nsRTGrace, rt)
		if err == nil {
			return p.openAnswer(rt, raw)
		}
		if !errors.Is(err, sessions.ErrNotFound) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// graceAEAD is AES-256-GCM under a key derived from the refresh token.
func graceAEAD(rt string) (cipher.AEAD, error) {
	key := sha256.Sum256([]byte("cnsgate oidc refresh grace\x00" + rt))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (p *Provider) sealAnswer(rt string, ans graceAnswer) ([]byte, error) {
	plain, err := json.Marshal(ans)
	if err != nil {
		return nil, err
	}
	aead, err := graceAEAD(rt)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(p.rand, nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, nil), nil
}

func (p *Provider) openAnswer(rt string, sealed []byte) (*graceAnswer, error) {
	aead, err := graceAEAD(rt)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("oidc: kept refresh answer too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return nil, fmt.Errorf("oidc: kept refresh answer does not open: %w", err)
	}
	var ans graceAnswer
	if err := json.Unmarshal(plain, &ans); err != nil || (ans.Response == nil && ans.Error == "") {
		return nil, fmt.Errorf("oidc: kept refresh answer unreadable: %v", err)
	}
	return &ans, nil
}
