package esenzioni

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// Reasons a logout token is refused (OpenID Connect Back-Channel Logout
// 1.0, 2.6). Each wraps the verifier's detail.
var (
	// ErrLogoutTokenInvalid: the signature, iss, aud, exp, the event,
	// a nonce, no jti, or not a JWS at all.
	ErrLogoutTokenInvalid = errors.New("logout token invalid")
	// ErrLogoutTokenType: a JOSE typ other than logout+jwt.
	ErrLogoutTokenType = errors.New("logout token of another type")
	// ErrLogoutTokenNoSID: this relying party ends sessions by sid, which
	// the provider always sends.
	ErrLogoutTokenNoSID = errors.New("logout token without sid")
	// ErrLogoutTokenIssuedAt: iat missing or in the future (beyond the
	// verifier's allowance of a second).
	ErrLogoutTokenIssuedAt = errors.New("logout token iat missing or in the future")
	// ErrLogoutTokenReplayed: a jti already accepted.
	ErrLogoutTokenReplayed = errors.New("logout token replayed")
)

// logoutTokenType is the explicit JOSE type of a logout token.
const logoutTokenType = "logout+jwt"

// maxLogoutRequest bounds the back-channel request body.
const maxLogoutRequest = 64 << 10

// backchannelLogout receives the provider's logout token: verified, it
// ends the local sessions of its sid and gets 200; refused, 400 with an
// OAuth error body. A token for a session this relying party no longer
// has (the citizen pressed "Esci" here) is still a success.
func (a *App) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutRequest)
	raw := r.PostFormValue("logout_token")
	if raw == "" {
		refuseLogout(w, "logout_token is missing")
		a.logger.WarnContext(r.Context(), "esenzioni: back-channel logout refused", "reason", "no logout_token")
		return
	}
	lt, err := a.verifyLogoutToken(r.Context(), raw)
	if err != nil {
		refuseLogout(w, "logout_token is invalid")
		a.logger.WarnContext(r.Context(), "esenzioni: back-channel logout refused", "err", err)
		return
	}
	n := a.store.endSID(lt.SessionID)
	a.logger.InfoContext(r.Context(), "esenzioni: back-channel logout", "sid", lt.SessionID, "sessions_ended", n)
	w.WriteHeader(http.StatusOK)
}

func refuseLogout(w http.ResponseWriter, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": description})
}

// eventBackchannelLogout names the event a logout token carries.
const eventBackchannelLogout = "http://schemas.openid.net/event/backchannel-logout"

// logoutClaims are the claims of a logout token (Back-Channel Logout 1.0,
// 2.4), in a shape zitadel's token verifier reads: the registered claims,
// the events and the provider's session id.
type logoutClaims struct {
	oidc.TokenClaims
	Events    map[string]json.RawMessage `json:"events"`
	SessionID string                     `json:"sid"`
}

// GetSubject lets a logout token that names only the session (sid, no
// sub, as 2.4 allows) through the verifier's check for a subject.
func (c *logoutClaims) GetSubject() string {
	if c.Subject != "" {
		return c.Subject
	}
	return c.SessionID
}

// verifyLogoutToken checks a logout token. zitadel has no logout-token
// verifier, but its ID token one (rp.VerifyIDToken with the relying
// party's verifier) checks what the two have in common: the signature
// against the provider's JWKS with a published algorithm, iss, aud, azp,
// exp, iat present and not in the future, and no nonce (the context
// carries none). This relying party then wants typ logout+jwt when a typ
// is given, the back-channel logout event as a JSON object, a jti never
// seen before (kept until the token expires), and a sid.
func (a *App) verifyLogoutToken(ctx context.Context, raw string) (*logoutClaims, error) {
	typ, err := joseType(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLogoutTokenInvalid, err)
	}
	if typ != "" && strings.TrimPrefix(strings.ToLower(typ), "application/") != logoutTokenType {
		return nil, fmt.Errorf("%w: typ %q", ErrLogoutTokenType, typ)
	}
	lt, err := rp.VerifyIDToken[*logoutClaims](ctx, raw, a.party.IDTokenVerifier())
	switch {
	case errors.Is(err, oidc.ErrIatMissing), errors.Is(err, oidc.ErrIatInFuture):
		return nil, fmt.Errorf("%w: %v", ErrLogoutTokenIssuedAt, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrLogoutTokenInvalid, err)
	}
	if ev := lt.Events[eventBackchannelLogout]; len(ev) == 0 || ev[0] != '{' {
		return nil, fmt.Errorf("%w: no back-channel logout event", ErrLogoutTokenInvalid)
	}
	if lt.JWTID == "" {
		return nil, fmt.Errorf("%w: no jti", ErrLogoutTokenInvalid)
	}
	if lt.SessionID == "" {
		return nil, ErrLogoutTokenNoSID
	}
	if !a.store.firstUse(lt.Issuer+"\x00"+lt.JWTID, lt.GetExpiration().Add(clockSkew)) {
		return nil, fmt.Errorf("%w: jti %s", ErrLogoutTokenReplayed, lt.JWTID)
	}
	return lt, nil
}

// joseType returns the typ header of a compact JWS, "" when absent.
func joseType(raw string) (string, error) {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return "", errors.New("not a compact JWS")
	}
	data, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", err
	}
	var h struct {
		Typ string `json:"typ"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return "", err
	}
	return h.Typ, nil
}

// equal compares two secrets in constant time; empty never matches.
func equal(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
