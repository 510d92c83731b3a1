package esenzioni

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// login sends the browser to the provider's authorization endpoint with a
// fresh state, nonce and PKCE verifier (S256), kept server-side under a
// cookie.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	id, err1 := randomID(a.rand)
	state, err2 := randomID(a.rand)
	nonce, err3 := randomID(a.rand)
	if err := errors.Join(err1, err2, err3); err != nil {
		a.fail(w, r, http.StatusInternalServerError, "Si è verificato un errore. Riprova.", "no randomness", err)
		return
	}
	p := &pendingLogin{state: state, nonce: nonce, verifier: oauth2.GenerateVerifier(), expires: a.now().Add(loginTTL)}
	a.store.putPending(id, p)
	setCookie(w, loginCookie, id, loginTTL)
	target := rp.AuthURL(state, a.party,
		rp.WithCodeChallenge(oidc.NewSHACodeChallenge(p.verifier)),
		rp.AuthURLOpt(rp.WithURLParam("nonce", nonce)))
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// Messages the citizen reads when a login does not complete.
const (
	msgLoginExpired = "La richiesta di accesso è scaduta o non è valida. Torna alla pagina iniziale e accedi di nuovo."
	msgLoginFailed  = "Non è stato possibile completare l'accesso. Torna alla pagina iniziale e riprova."
	msgLoginDenied  = "L'accesso non è stato autorizzato."
)

// claimFiscalNumber is cnsgate's claim of the citizen's fiscal code,
// "TINIT-" and the code.
const claimFiscalNumber = "fiscal_number"

// callback completes the login: the pending login is taken once and its
// state compared; rp.CodeExchange redeems the code with the PKCE verifier
// and verifies the ID token (signature against the provider's JWKS, iss,
// aud, azp, exp, iat, at_hash and, through the context, the nonce).
func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		a.fail(w, r, http.StatusBadRequest, msgLoginExpired, "callback without login cookie", err)
		return
	}
	clearCookie(w, loginCookie)
	p, ok := a.store.takePending(c.Value)
	q := r.URL.Query()
	if !ok || !equal(q.Get("state"), p.state) {
		a.fail(w, r, http.StatusBadRequest, msgLoginExpired, "callback with unknown login or wrong state", nil)
		return
	}
	if e := q.Get("error"); e != "" {
		a.fail(w, r, http.StatusForbidden, msgLoginDenied, "provider answered "+e, errors.New(q.Get("error_description")))
		return
	}
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](withNonce(r.Context(), p.nonce), q.Get("code"), a.party, rp.WithCodeVerifier(p.verifier))
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, msgLoginFailed, "code exchange or ID token refused", err)
		return
	}
	se, err := a.newSession(tokens)
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, msgLoginFailed, "ID token unusable", err)
		return
	}
	id, err := randomID(a.rand)
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, msgLoginFailed, "no randomness", err)
		return
	}
	a.store.putSession(id, se)
	setCookie(w, sessionCookie, id, 0)
	a.logger.InfoContext(r.Context(), "esenzioni: citizen logged in", "sub", se.subject, "sid", se.sid)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// newSession reads the citizen from verified tokens: the fiscal code
// (fiscal_number without its TINIT- prefix), the name, and the provider's
// session id (sid), by which back-channel logout ends the session.
func (a *App) newSession(tokens *oidc.Tokens[*oidc.IDTokenClaims]) (*session, error) {
	c := tokens.IDTokenClaims
	fn, _ := c.Claims[claimFiscalNumber].(string)
	cf, found := strings.CutPrefix(fn, "TINIT-")
	if !found || cf == "" || c.SessionID == "" {
		return nil, errors.New("no fiscal_number or sid")
	}
	csrf, err := randomID(a.rand)
	if err != nil {
		return nil, err
	}
	se := &session{
		subject: c.Subject, sid: c.SessionID, fiscalCode: cf, givenName: c.GivenName, familyName: c.FamilyName,
		csrf: csrf, expires: a.now().Add(a.cfg.SessionLifetime),
	}
	se.setTokens(tokens, a.now())
	return se, nil
}

// refreshIfDue refreshes the tokens of se when its access token has
// expired (rp.RefreshTokens: refresh_token grant, the new ID token
// verified as at login) and reports whether the session may go on. The
// provider refuses a refresh once the citizen's session at cnsgate has
// ended, so a session here never outlives the one there by more than an
// access token's lifetime, even if a back-channel logout was lost.
func (a *App) refreshIfDue(ctx context.Context, se *session) bool {
	se.mu.Lock()
	defer se.mu.Unlock()
	if a.now().Before(se.refreshAt) {
		return true
	}
	if se.refreshToken == "" {
		a.logger.InfoContext(ctx, "esenzioni: access token expired and no refresh token: session ended", "sid", se.sid)
		return false
	}
	tokens, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, a.party, se.refreshToken, "", "")
	if err != nil {
		a.logger.InfoContext(ctx, "esenzioni: refresh refused: session ended", "sid", se.sid, "err", err)
		return false
	}
	// OpenID Connect Core 12.2: a refreshed ID token names the same
	// citizen; cnsgate keeps the session id too.
	if c := tokens.IDTokenClaims; c != nil && (c.Subject != se.subject || c.SessionID != se.sid) {
		a.logger.WarnContext(ctx, "esenzioni: refreshed ID token for another subject or session: session ended", "sid", se.sid)
		return false
	}
	se.setTokens(tokens, a.now())
	a.logger.InfoContext(ctx, "esenzioni: tokens refreshed", "sid", se.sid)
	return true
}

// setTokens keeps what the session needs of a token response: the raw ID
// token (the id_token_hint of "Esci", kept when a refresh brings none),
// the refresh token, and when the access token is due for a refresh.
func (se *session) setTokens(tokens *oidc.Tokens[*oidc.IDTokenClaims], now time.Time) {
	if tokens.IDToken != "" {
		se.idToken = tokens.IDToken
	}
	if tokens.RefreshToken != "" {
		se.refreshToken = tokens.RefreshToken
	}
	// Expiry is on the system clock; the session counts on its own. A
	// response without expires_in is refreshed after clockSkew.
	left := clockSkew
	if d := time.Until(tokens.Expiry); !tokens.Expiry.IsZero() && d > 0 {
		left = d
	}
	se.refreshAt = now.Add(left)
}
