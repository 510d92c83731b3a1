package oidc

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"net/url"

	"github.com/cnsgate/cnsgate/sessions"
)

// readForm parses a back-channel POST body, which must be form-encoded.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, newErr(errInvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, newErr(errInvalidRequest, "the body cannot be read")
	}
	if r.URL.RawQuery != "" {
		return nil, newErr(errInvalidRequest, "parameters go in the body, not the query")
	}
	return r.PostForm, nil
}

// token is the token endpoint (RFC 6749 3.2).
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	resp, e := p.tokenResult(w, r)
	if e != nil {
		p.logger.InfoContext(r.Context(), "oidc token request refused", "error", e.Code, "detail", e.Description)
		writeError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (p *Provider) tokenResult(w http.ResponseWriter, r *http.Request) (*tokenResponse, *oauthError) {
	form, e := readForm(w, r)
	if e != nil {
		return nil, e
	}
	req, e := parseTokenRequest(form, r.Header.Get("Authorization"))
	if e != nil {
		return nil, e
	}
	c, e := p.authenticateClient(r.Context(), req.credentials, p.issuer+PathToken)
	if e != nil {
		return nil, e
	}
	if req.GrantType == grantAuthorizationCode {
		return p.exchangeCode(r, c, &req)
	}
	return p.refresh(r, c, &req)
}

// unavailable turns a store error into the answer a client retries later.
func (p *Provider) unavailable(r *http.Request, what string, err error) *oauthError {
	p.logger.ErrorContext(r.Context(), "oidc dependency unavailable", "what", what, "err", err)
	return newErr(errTemporarilyUnavailable, "try again later")
}

// exchangeCode redeems an authorization code (RFC 6749 4.1.3, RFC 7636
// 4.6). A code is good once: a second redemption revokes what the first
// obtained.
func (p *Provider) exchangeCode(r *http.Request, c *client, req *tokenRequest) (*tokenResponse, *oauthError) {
	g, read, e := p.redeemCode(r, c, req.Code)
	if e != nil {
		return nil, e
	}
	if req.RedirectURI != g.RedirectURI {
		return nil, newErr(errInvalidGrant, "redirect_uri differs from the authorization request's")
	}
	if !pkceMatches(req.Verifier, g.Challenge) {
		return nil, newErr(errInvalidGrant, "code_verifier does not match the code_challenge")
	}
	sess, err := p.liveFrom(r.Context(), g, read)
	return p.tokensIn(r, c, g, sess, err, g.Nonce)
}

// redeemCode spends a code of client c and returns its grant with the
// reads of liveSession, in two round trips: the code read, then one
// pipeline that swaps the used marker in for the grant (sessions.OpSwap,
// atomic: of concurrent redemptions one receives the grant) and reads the
// session and its markers. A code found spent, or spent between the two,
// revokes its family. A client other than the code's leaves it unspent.
func (p *Provider) redeemCode(r *http.Request, c *client, code string) (*grant, sessions.Read, *oauthError) {
	ctx := r.Context()
	replayed := func(g *grant) *oauthError {
		if err := p.revokeFamily(ctx, g.Family, g.Deadline); err != nil {
			return p.unavailable(r, "sessions", err)
		}
		p.logger.WarnContext(ctx, "oidc code replayed: its tokens are revoked", "client_id", c.id)
		return newErr(errInvalidGrant, "the code is unknown, expired or already used")
	}
	g, stored, err := p.getGrantRaw(ctx, nsCode, code)
	switch {
	case errors.Is(err, sessions.ErrNotFound):
		// A marker of the earlier layout, put by a replica not yet upgraded.
		if p.revokeReplayed(ctx, nsCodeUsed, code) {
			p.logger.WarnContext(ctx, "oidc code replayed: its tokens are revoked", "client_id", c.id)
		}
		return nil, sessions.Read{}, newErr(errInvalidGrant, "the code is unknown, expired or already used")
	case err != nil:
		return nil, sessions.Read{}, p.unavailable(r, "sessions", err)
	case g.spent():
		return nil, sessions.Read{}, replayed(g)
	case g.ClientID != c.id:
		return nil, sessions.Read{}, newErr(errInvalidGrant, "the code was issued to another client")
	}
	read, err := p.readLive(ctx, g, sessions.Op{Kind: sessions.OpSwap, NS: nsCode, Key: code, Val: usedMarkerOf(g), TTL: usedTTL})
	if err != nil {
		return nil, sessions.Read{}, p.unavailable(r, "sessions", err)
	}
	// The value swapped out is the grant read (unless redeemed between the
	// two): the same bytes need no second decoding.
	if prev := read.Results[0]; !prev.Found || !(bytes.Equal(prev.Val, stored) || storedGrant(prev.Val)) {
		return nil, sessions.Read{}, replayed(g)
	}
	return g, read, nil
}

// refresh rotates a refresh token (RFC 6749 6): the old one is spent.
// Presented again by the same client within the grace window it gets the
// same answer (refreshgrace.go); later, or by another client, it revokes
// the whole family.
func (p *Provider) refresh(r *http.Request, c *client, req *tokenRequest) (*tokenResponse, *oauthError) {
	ctx := r.Context()
	g, err := p.getGrant(ctx, nsRefresh, req.RefreshToken)
	if errors.Is(err, sessions.ErrNotFound) {
		return nil, newErr(errInvalidGrant, "the refresh token is unknown or expired")
	}
	if err != nil {
		return nil, p.unavailable(r, "sessions", err)
	}
	if g.ClientID != c.id {
		return nil, newErr(errInvalidGrant, "the refresh token was issued to another client")
	}
	first, seen, err := p.claimRefresh(ctx, req.RefreshToken, g, c.id)
	if err != nil {
		return nil, p.unavailable(r, "sessions", err)
	}
	if !first {
		return p.refreshAgain(r, c, g, req.RefreshToken, seen)
	}
	resp, e := p.rotate(r, c, g, req.Scope)
	p.rememberAnswer(ctx, req.RefreshToken, resp, e)
	return resp, e
}

// rotate issues the successor tokens of a refresh grant, narrowed to
// scope when the request names one.
func (p *Provider) rotate(r *http.Request, c *client, g *grant, scope []string) (*tokenResponse, *oauthError) {
	if scope != nil {
		for _, s := range scope {
			if !contains(g.Scopes, s) {
				return nil, newErr(errInvalidScope, "scope "+s+" was not granted")
			}
		}
		var narrowed []string
		for _, s := range g.Scopes {
			if contains(scope, s) {
				narrowed = append(narrowed, s)
			}
		}
		g.Scopes = narrowed
	}
	return p.tokensFor(r, c, g, "")
}

// tokensFor issues tokens when the grant's session is still live.
func (p *Provider) tokensFor(r *http.Request, c *client, g *grant, nonce string) (*tokenResponse, *oauthError) {
	sess, err := p.liveSession(r.Context(), g)
	return p.tokensIn(r, c, g, sess, err, nonce)
}

// tokensIn issues tokens in sess, the grant's session as liveSession
// returned it with err.
func (p *Provider) tokensIn(r *http.Request, c *client, g *grant, sess *sessions.Session, err error, nonce string) (*tokenResponse, *oauthError) {
	if errors.Is(err, errGrantDead) {
		return nil, newErr(errInvalidGrant, "the session ended or the grant was revoked")
	}
	if err != nil {
		return nil, p.unavailable(r, "sessions", err)
	}
	resp, err := p.issueTokens(r.Context(), c, g, sess, nonce)
	if err != nil {
		return nil, p.unavailable(r, "tokens", err)
	}
	return resp, nil
}

// pkceMatches checks a verifier against an S256 challenge in constant time.
func pkceMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}
