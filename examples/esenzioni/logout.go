package esenzioni

import (
	"net/http"
	"net/url"
)

// logout is "Esci": the local session ends at once, then the browser goes
// to the provider's end_session_endpoint (RP-Initiated Logout 1.0, 2) with
// the ID token as hint, the registered post-logout redirect and a fresh
// state, which the browser keeps in a cookie until it comes back.
//
// rp.EndSession is not the tool here: it calls the endpoint from this
// server, and cnsgate ends a citizen's session only in their browser,
// after asking "Vuoi uscire?". The URL is built from the endpoint that
// discovery found.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	id, se, ok := a.current(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !equal(r.PostFormValue("csrf"), se.csrf) {
		a.fail(w, r, http.StatusForbidden, "La richiesta non è valida. Torna alla pagina iniziale e riprova.", "logout without a valid form token", nil)
		return
	}
	const msgLogoutFailed = "Non è stato possibile completare l'uscita."
	state, err := randomID(a.rand)
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, msgLogoutFailed, "no randomness", err)
		return
	}
	u, err := url.Parse(a.party.GetEndSessionEndpoint())
	if err != nil {
		a.fail(w, r, http.StatusBadGateway, msgLogoutFailed, "end_session_endpoint unparseable", err)
		return
	}
	a.store.deleteSession(id)
	clearCookie(w, sessionCookie)
	setCookie(w, logoutCookie, state, loginTTL)
	v := u.Query()
	v.Set("id_token_hint", se.hint())
	v.Set("post_logout_redirect_uri", a.cfg.PostLogoutRedirectURL)
	v.Set("client_id", a.cfg.ClientID)
	v.Set("state", state)
	u.RawQuery = v.Encode()
	a.logger.InfoContext(r.Context(), "esenzioni: citizen logged out", "sub", se.subject, "sid", se.sid)
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// loggedOut is where the provider sends the browser back after the
// citizen confirmed the logout there: the state must be the one "Esci"
// left in this browser, once. Anything else (a bookmark, a link from
// elsewhere) is sent to the home page, which says whether the citizen is
// logged in.
func (a *App) loggedOut(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := a.current(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c, err := r.Cookie(logoutCookie)
	if err != nil || !equal(r.URL.Query().Get("state"), c.Value) {
		a.logger.WarnContext(r.Context(), "esenzioni: post-logout redirect without this browser's logout state")
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	clearCookie(w, logoutCookie)
	a.render(w, http.StatusOK, "loggedout.html", pageData{Title: "Hai chiuso la sessione"})
}
