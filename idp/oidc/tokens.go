package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
)

// The typ header of each kind of token cnsgate signs; a token of one kind
// is never accepted as another.
const (
	typID     = "JWT"
	typAccess = "at+jwt"     // RFC 9068
	typLogout = "logout+jwt" // OpenID Back-Channel Logout 1.0
	// typRefresh: the refresh tokens of spid and cie clients, signed JWTs
	// as their rules require (still resolved only through the store).
	typRefresh = "rt+jwt"
)

// errBadToken reports a token that is not one of ours, is tampered with,
// of the wrong kind, or expired.
var errBadToken = errors.New("oidc: invalid token")

// verify checks that raw is a compact JWS of kind typ signed by one of our
// keys and issued by us; with checkTimes, that it is within its validity.
func (p *Provider) verify(raw, typ string, checkTimes bool) (jwt.Token, error) {
	if strings.Count(raw, ".") != 2 || len(raw) > maxTokenLen {
		return nil, fmt.Errorf("%w: not a compact JWS", errBadToken)
	}
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, fmt.Errorf("%w: unparseable", errBadToken)
	}
	if got := msg.Signatures()[0].ProtectedHeaders().Type(); !strings.EqualFold(got, typ) {
		return nil, fmt.Errorf("%w: typ %q, want %q", errBadToken, got, typ)
	}
	public, _ := p.keys().publishedAt(p.now())
	tok, err := jwt.Parse([]byte(raw),
		jwt.WithKeySet(public),
		jwt.WithValidate(checkTimes),
		jwt.WithClock(jwt.ClockFunc(p.now)),
		jwt.WithAcceptableSkew(5*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadToken, err)
	}
	if tok.Issuer() != p.issuer {
		return nil, fmt.Errorf("%w: issuer %q", errBadToken, tok.Issuer())
	}
	return tok, nil
}

// tokenResponse is the body of a successful token response (RFC 6749 5.1,
// OpenID Connect Core 3.1.3.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope"`
}

// issueTokens mints an access token, a refresh token and an ID token for a
// grant of a live session. nonce is the authorization request's (code
// exchange) or "" (refresh). The ID token is the one signature of the
// response, unless the client takes jwt access tokens. A spid or cie
// client gets a refresh token only for a grant with offline_access and
// prompt=consent.
func (p *Provider) issueTokens(ctx context.Context, c *client, g *grant, sess *sessions.Session, nonce string) (*tokenResponse, error) {
	now := p.now()
	capped := func(d time.Duration) time.Time {
		if t := now.Add(d); t.Before(g.Deadline) {
			return t
		}
		return g.Deadline
	}
	base := *g
	base.RedirectURI, base.Challenge, base.Nonce = "", "", ""

	sub := p.subject(c, sess.FiscalCode)
	atExp := capped(p.accessTTL)
	access, accessRec, err := p.issueAccess(c, &base, sess, sub, now, atExp)
	if err != nil {
		return nil, err
	}
	kinds, grants := []string{TokenAccess, TokenID}, []sessions.Entry{accessRec}
	var refresh string
	if !c.italian() || g.Offline {
		if refresh, err = p.newRefresh(c, &base, sub, now); err != nil {
			return nil, err
		}
		refreshRec, err := base.MarshalJSON()
		if err != nil {
			return nil, err
		}
		grants = append(grants, sessions.Entry{NS: nsRefresh, Key: refresh, Val: refreshRec, TTL: g.Deadline.Sub(now)})
		kinds = append(kinds, TokenRefresh)
	}
	// The grants in one round trip.
	if err := sessions.PutMany(ctx, p.eph, grants...); err != nil {
		return nil, err
	}
	idToken, err := p.idToken(ctx, c, g, sess, sub, idTimes{now, capped(p.idTTL)}, nonce, access)
	if err != nil {
		return nil, err
	}
	for _, kind := range kinds {
		p.recorder.TokenIssued(kind, c.id)
	}
	p.svc.Audit(ctx, registry.Event{Kind: registry.KindTokenIssued, Outcome: registry.OutcomeSuccess, Client: c.id,
		FiscalCode: sess.FiscalCode, SessionHash: sess.IDHash, CardSerial: sess.CardSerial, Issuer: sess.Issuer})
	return &tokenResponse{
		AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(atExp.Sub(now).Seconds()),
		RefreshToken: refresh, IDToken: idToken, Scope: scopeString(g.Scopes),
	}, nil
}

// newRefresh returns a new refresh token: 256 random bits, base64url, or
// for a spid or cie client a signed JWT (their rules) carrying them as its
// jti. Either is redeemed only through the grant stored under it.
func (p *Provider) newRefresh(c *client, base *grant, sub string, now time.Time) (string, error) {
	secret, err := p.newSecret()
	if err != nil || !c.italian() {
		return secret, err
	}
	return p.sign("", typRefresh, map[string]any{
		"iss": p.issuer, "sub": sub, "aud": p.issuer + PathToken, "client_id": c.id,
		"iat": now, "exp": base.Deadline, "jti": secret, "scope": scopeString(base.Scopes),
	})
}

// idTimes are an ID token's issue and expiry.
type idTimes struct{ iat, exp time.Time }

// idToken signs the ID token of a grant (and encrypts it to a client that
// registered id_token_encrypted_response_alg): the claims the scopes and
// the claims parameter release, none about the citizen for a spid client,
// the authentication claims, a jti in every token, nbf = iat for the
// Italian profiles.
func (p *Provider) idToken(ctx context.Context, c *client, g *grant, sess *sessions.Session, sub string, t idTimes, nonce, access string) (string, error) {
	var id map[string]any
	if c.profile != ProfileSPID {
		id = p.userClaims(c, sess, sub, g.Scopes, g.Claims.idToken())
	} else {
		id = make(map[string]any, 16)
		id["sub"] = sub
	}
	putAuthClaims(id, sess, g)
	jti, err := p.newUUID()
	if err != nil {
		return "", err
	}
	_, alg, _ := p.keys().signer(c.idAlg)
	// Set one by one: a map literal to copy from would be a second map.
	id["iss"], id["aud"], id["azp"], id["iat"], id["exp"] = p.issuer, []string{c.id}, c.id, t.iat, t.exp
	id["at_hash"], id["jti"] = halfHash(access, alg.String()), jti
	if c.italian() {
		id["nbf"] = t.iat
	}
	if nonce != "" {
		id[ClaimNonce] = nonce
	}
	tok, err := p.sign(c.idAlg, typID, id)
	if err != nil || c.idEnc.alg == "" {
		return tok, err
	}
	return p.encryptTo(ctx, c, c.idEnc, tok)
}

// issueAccess mints the access token of a grant, valid until exp: 256
// random bits, base64url (opaque, the default), or for a client with
// jwt access tokens a signed at+jwt (RFC 9068). Either kind is stored by
// its SHA-256 hash (accessKey) with the grant (session, scopes, client,
// expiry) for its life, so the store never holds a usable token; it
// returns the token and that record, for the caller to put.
func (p *Provider) issueAccess(c *client, base *grant, sess *sessions.Session, sub string, now, exp time.Time) (string, sessions.Entry, error) {
	access, err := p.newSecret()
	if err != nil {
		return "", sessions.Entry{}, err
	}
	if c.jwtAccess {
		jti, err := p.newUUID()
		if err != nil {
			return "", sessions.Entry{}, err
		}
		at := authClaims(sess, base)
		at["iss"], at["sub"], at["aud"], at["client_id"] = p.issuer, sub, p.issuer+PathUserinfo, c.id
		at["iat"], at["exp"], at["jti"], at["scope"] = now, exp, jti, scopeString(base.Scopes)
		if access, err = p.sign("", typAccess, at); err != nil {
			return "", sessions.Entry{}, err
		}
	}
	rec := *base
	rec.Expires = exp
	raw, err := rec.MarshalJSON()
	if err != nil {
		return "", sessions.Entry{}, err
	}
	return access, sessions.Entry{NS: nsAccess, Key: accessKey(access), Val: raw, TTL: exp.Sub(now) + time.Second}, nil
}

// accessKey is the key an access token is stored under: its SHA-256,
// base64url.
func accessKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// halfHash is the at_hash of an access token for an ID token signed with
// alg: the left half of its SHA-256 digest (RS256, PS256, ES256) or of its
// SHA-512 digest (RS512), base64url.
func halfHash(s, alg string) string {
	if alg == AlgRS512 {
		sum := sha512.Sum512([]byte(s))
		return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	}
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// accessGrant checks a bearer access token: one we issued and still
// track under its hash (not revoked), unexpired, a JWT also of the access
// kind and signed by us, its family and session live. It returns the
// grant, the session and the client.
func (p *Provider) accessGrant(ctx context.Context, raw string) (*grant, *sessions.Session, *client, error) {
	g, err := p.accessRecord(ctx, raw)
	if err != nil {
		return nil, nil, nil, err
	}
	c := p.client(ctx, g.ClientID)
	if c == nil {
		return nil, nil, nil, fmt.Errorf("%w: client no longer configured", errBadToken)
	}
	sess, err := p.liveSession(ctx, g)
	if err != nil {
		return nil, nil, nil, err
	}
	return g, sess, c, nil
}

// errUnknownAccess reports a token no access record is stored for: never
// issued, revoked, or expired (or a refresh token, for /introspect and
// /revoke to try next).
var errUnknownAccess = fmt.Errorf("%w: unknown, revoked or expired access token", errBadToken)

// accessRecord returns the grant stored for an access token, by its hash;
// errUnknownAccess when there is none or it has expired.
func (p *Provider) accessRecord(ctx context.Context, raw string) (*grant, error) {
	if raw == "" || len(raw) > maxTokenLen {
		return nil, fmt.Errorf("%w: empty or too long", errBadToken)
	}
	if looksLikeJWT(raw) {
		if _, err := p.verify(raw, typAccess, true); err != nil {
			return nil, err
		}
	}
	g, err := p.getGrant(ctx, nsAccess, accessKey(raw))
	if errors.Is(err, sessions.ErrNotFound) {
		return nil, errUnknownAccess
	}
	if err != nil {
		return nil, err
	}
	if !p.now().Before(g.Expires) {
		return nil, errUnknownAccess
	}
	return g, nil
}

// bearerToken returns the access token of a request: the Authorization
// header (RFC 6750 2.1) or, on a form POST, the access_token parameter
// (2.2). ok is false when the request presents it twice.
func bearerToken(w http.ResponseWriter, r *http.Request) (token string, ok bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, found := strings.Cut(h, " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		token = strings.TrimSpace(tok)
	}
	if r.Method == http.MethodPost {
		form, e := readForm(w, r)
		if e == nil && len(form["access_token"]) > 0 {
			if token != "" || len(form["access_token"]) > 1 {
				return "", false
			}
			token = form.Get("access_token")
		}
	}
	return token, true
}

// userinfo returns the claims the access token's scopes release (OpenID
// Connect Core 5.3), while the token and its session live.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	raw, ok := bearerToken(w, r)
	switch {
	case !ok:
		w.Header().Set("WWW-Authenticate", `Bearer realm="cnsgate", error="invalid_request"`)
		writeJSON(w, http.StatusBadRequest, newErr(errInvalidRequest, "the access token is presented more than once or malformed"))
		return
	case raw == "":
		w.Header().Set("WWW-Authenticate", `Bearer realm="cnsgate"`)
		writeJSON(w, http.StatusUnauthorized, newErr(errInvalidToken, "an access token is required"))
		return
	}
	g, sess, c, err := p.accessGrant(ctx, raw)
	switch {
	case errors.Is(err, errBadToken) || errors.Is(err, errGrantDead):
		p.logger.InfoContext(ctx, "userinfo refused", "err", err)
		w.Header().Set("WWW-Authenticate", `Bearer realm="cnsgate", error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, newErr(errInvalidToken, "the access token is invalid, expired or revoked"))
		return
	case err != nil:
		e := p.unavailable(r, "sessions", err)
		writeJSON(w, e.status, e)
		return
	}
	if c.profile == ProfileSPID && r.Method != http.MethodGet {
		// The SPID rules: /userinfo by GET only.
		w.Header().Set("Allow", http.MethodGet)
		writeJSON(w, http.StatusMethodNotAllowed, newErr(errInvalidRequest, "the spid profile takes /userinfo by GET only"))
		return
	}
	claims := p.userClaims(c, sess, p.subject(c, sess.FiscalCode), g.Scopes, g.Claims.userinfo())
	if c.userinfoAlg == "" && c.uiEnc.alg == "" {
		writeJSON(w, http.StatusOK, claims)
		return
	}
	p.signedUserinfo(w, r, c, claims)
}

// signedUserinfo answers /userinfo with the claims as a JWT signed with
// the client's userinfo_signed_response_alg (the default algorithm when
// only an encryption is registered), with iss and aud (OpenID Connect Core
// 5.3.2), iat and exp for the Italian profiles; then, for a client with
// userinfo_encrypted_response_alg (every spid and cie client), encrypted
// to the client's key.
func (p *Provider) signedUserinfo(w http.ResponseWriter, r *http.Request, c *client, claims map[string]any) {
	claims["iss"], claims["aud"] = p.issuer, []string{c.id}
	if c.italian() {
		now := p.now()
		claims["iat"], claims["exp"] = now, now.Add(p.idTTL)
	}
	tok, err := p.sign(c.userinfoAlg, typID, claims)
	if err == nil && c.uiEnc.alg != "" {
		tok, err = p.encryptTo(r.Context(), c, c.uiEnc, tok)
	}
	if err != nil {
		p.logger.ErrorContext(r.Context(), "userinfo not signed or encrypted", "client_id", c.id, "err", err)
		writeJSON(w, http.StatusInternalServerError, newErr(errServerError, "the userinfo response could not be signed or encrypted"))
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(tok))
}
