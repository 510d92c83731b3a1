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

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// Reasons a logout token is refused (OpenID Connect Back-Channel Logout
// 1.0, 2.6). Each wraps the verifier's detail.
var (
	// ErrLogoutTokenInvalid: signature, iss, aud, exp, the event, nonce,
	// jti or sub/sid, as go-oidc's VerifyLogout checks them.
	ErrLogoutTokenInvalid = errors.New("logout token invalid")
	// ErrLogoutTokenType: a JOSE typ other than logout+jwt.
	ErrLogoutTokenType = errors.New("logout token of another type")
	// ErrLogoutTokenNoSID: this relying party ends sessions by sid, which
	// the provider always sends.
	ErrLogoutTokenNoSID = errors.New("logout token without sid")
	// ErrLogoutTokenIssuedAt: iat missing or in the future.
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

// verifyLogoutToken checks a logout token: go-oidc verifies the signature
// against the provider's JWKS, iss, aud, exp, the back-channel logout event,
// the absence of a nonce, jti and sub or sid; this relying party also wants
// typ logout+jwt when a typ is given, a sid, an iat not in the future, and
// a jti never seen before (kept until the token expires).
func (a *App) verifyLogoutToken(ctx context.Context, raw string) (*gooidc.LogoutToken, error) {
	typ, err := joseType(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLogoutTokenInvalid, err)
	}
	if typ != "" && strings.TrimPrefix(strings.ToLower(typ), "application/") != logoutTokenType {
		return nil, fmt.Errorf("%w: typ %q", ErrLogoutTokenType, typ)
	}
	lt, err := a.verifier.VerifyLogout(a.clientContext(ctx), raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLogoutTokenInvalid, err)
	}
	if lt.SessionID == "" {
		return nil, ErrLogoutTokenNoSID
	}
	if lt.IssuedAt.IsZero() || lt.IssuedAt.After(a.now().Add(clockSkew)) {
		return nil, fmt.Errorf("%w: iat %v", ErrLogoutTokenIssuedAt, lt.IssuedAt)
	}
	if !a.store.firstUse(lt.Issuer+"\x00"+lt.TokenID, lt.Expiry.Add(clockSkew)) {
		return nil, fmt.Errorf("%w: jti %s", ErrLogoutTokenReplayed, lt.TokenID)
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
