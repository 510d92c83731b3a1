package idp

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
)

// home is the welcome page for a citizen with a session, and the
// "Accedi con TS/CNS" page otherwise.
func (s *Service) home(w http.ResponseWriter, r *http.Request) {
	sess, err := s.CurrentSession(r)
	if errors.Is(err, sessions.ErrNotFound) {
		s.loginPage(w, r, "", nil, "")
		return
	}
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	lang := web.LangFrom(r)
	tok, err := s.issueCSRF(r.Context(), logoutBinding(sess)+"|")
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	p := page{Lang: lang, Title: lang.T("welcome.title"), Session: sess, Services: s.Allowed(sess), CSRF: tok, LoggedIn: true}
	// Read more than are shown: the visits before the registration are
	// left out (accessesFrom).
	if events, err := s.registry.RecentAccesses(r.Context(), sess.FiscalCode, 4*recentAccesses); err == nil {
		p.Accesses = accessesFrom(lang, events, s.opts.Services, recentAccesses)
	} else {
		// The page is still useful without its history.
		s.logger.WarnContext(r.Context(), "recent accesses not read", "err", err)
	}
	s.render(w, r, http.StatusOK, "welcome.html", p)
}

func logoutBinding(sess *sessions.Session) string { return "logout|" + sess.IDHash }

// complete receives the handoff from the card listener: the single-use code
// becomes the session cookie of the public origin, and the pending request,
// if any, is resumed.
func (s *Service) complete(w http.ResponseWriter, r *http.Request) {
	h, ok := s.takeHandoff(w, r)
	if !ok {
		return
	}
	sess := h.Session
	sid, err := s.sessions.Create(r.Context(), sess, s.opts.IdleTimeout, s.opts.AbsoluteTimeout)
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	s.recorder.SessionCreated()
	s.audit(r, auditRecord{kind: registry.KindLogin, outcome: registry.OutcomeSuccess, session: sess, detail: h.Note, client: h.Client})
	if !s.auditsToDB() {
		// Otherwise the login's audit event carries the card's last login.
		if err := s.registry.RecordLogin(r.Context(), sess.CardFingerprint, sess.AuthTime); err != nil {
			s.logger.WarnContext(r.Context(), "last login time not recorded", "err", err)
		}
	}
	s.endEarlierSession(r, sid)
	setSessionCookie(w, sid)
	if h.Req != "" && s.resumePending(w, r, sess, h.Req) {
		return
	}
	http.Redirect(w, r, s.opts.Issuer+"/", http.StatusSeeOther)
}

// endEarlierSession ends the session a browser held before this login: it
// gets a fresh one.
func (s *Service) endEarlierSession(r *http.Request, sid string) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || c.Value == sid {
		return
	}
	if err := s.endSessionID(r.Context(), c.Value, CauseReplaced); err != nil && !isDomainErr(err) {
		s.logger.WarnContext(r.Context(), "earlier session of the browser not ended", "err", err)
	}
}

// resumePending hands the new session to the protocol whose request the
// login interrupted. It reports whether it answered.
func (s *Service) resumePending(w http.ResponseWriter, r *http.Request, sess *sessions.Session, req string) bool {
	raw, err := s.ephemeral.Take(r.Context(), nsPending, req)
	if err != nil {
		if isDomainErr(err) {
			return false
		}
		s.unavailable(w, r, "sessions", err)
		return true
	}
	var p PendingRequest
	if json.Unmarshal(raw, &p) != nil || p.Kind == "" {
		return false // "" is cnsgate's own login (/cns/start): the welcome page
	}
	if p.Lang != "" {
		r = r.WithContext(web.WithLang(r.Context(), web.Lang(p.Lang)))
	}
	if fn := s.resumer(p.Kind); fn != nil {
		fn(w, r, sess, p.Data)
		return true
	}
	s.logger.WarnContext(r.Context(), "pending request of an unknown kind", "kind", p.Kind)
	return false
}

// logoutPage asks for confirmation: a GET must not end a session by itself
// (a link in another site could do it), the POST does. A protocol that
// handles its own logout request (OIDC end_session) takes it first.
func (s *Service) logoutPage(w http.ResponseWriter, r *http.Request) {
	if h := s.endSessionHandler(); h != nil && h(w, r) {
		return
	}
	s.ConfirmLogout(w, r, "")
}

// EndSessionFunc handles a protocol's logout request on /logout (a GET, or
// a form POST that is not the confirmation form) and reports whether it
// did; false leaves the request to the login service.
type EndSessionFunc func(w http.ResponseWriter, r *http.Request) bool

// SetEndSessionHandler installs the protocol logout handler (the OIDC
// provider's end_session_endpoint shares /logout).
func (s *Service) SetEndSessionHandler(h EndSessionFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endSession = h
}

func (s *Service) endSessionHandler() EndSessionFunc {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.endSession
}

// maxLogoutForm bounds the body of a POST /logout.
const maxLogoutForm = 64 << 10

// ConfirmLogout asks the citizen to confirm logging out; after the POST the
// browser goes to next (a validated post-logout redirect of a relying
// party) or, when next is empty, sees the logged-out page. Without a
// session it goes there at once.
func (s *Service) ConfirmLogout(w http.ResponseWriter, r *http.Request, next string) {
	sess, err := s.CurrentSession(r)
	lang := web.LangFrom(r)
	if errors.Is(err, sessions.ErrNotFound) {
		s.loggedOut(w, r, next)
		return
	}
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	tok, err := s.issueCSRF(r.Context(), logoutBinding(sess)+"|"+next)
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	s.render(w, r, http.StatusOK, "logout.html", page{Lang: lang, Title: lang.T("logout.title"), CSRF: tok, LoggedIn: true})
}

// loggedOut clears the session cookie and sends the browser to next, or
// shows the logged-out page with the advice to remove the card.
func (s *Service) loggedOut(w http.ResponseWriter, r *http.Request, next string) {
	clearSessionCookie(w)
	if next != "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	lang := web.LangFrom(r)
	s.render(w, r, http.StatusOK, "loggedout.html", page{Lang: lang, Title: lang.T("loggedout.title"), BackURL: s.opts.Issuer + "/"})
}

// logout is "Esci": the session ends, every relying party that took part is
// told, and the citizen is advised to close the browser and remove the card.
// A POST without the confirmation form's token is a relying party's logout
// request (OIDC RP-Initiated Logout by form POST), left to its protocol.
func (s *Service) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutForm)
	if err := r.ParseForm(); err != nil {
		s.logger.WarnContext(ctx, "logout refused", "reason", "unreadable form", "err", err)
		s.failPage(w, r, http.StatusBadRequest, "logout.refused", "csrf.invalid", s.opts.Issuer+"/logout")
		return
	}
	if _, confirm := r.PostForm["csrf"]; !confirm {
		if h := s.endSessionHandler(); h != nil && h(w, r) {
			return
		}
	}
	// The confirmation page's language (a relying party's ui_locales)
	// carries on to the logged-out page.
	if l, ok := web.LocalesLang(r.PostForm.Get("lang")); ok {
		r = r.WithContext(web.WithLang(ctx, l))
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		s.loggedOut(w, r, "")
		return
	}
	sess, err := s.sessions.Get(ctx, c.Value)
	s.SessionExpired(ctx, err) // past a deadline: it ends with that cause
	if isDomainErr(err) {
		s.loggedOut(w, r, "")
		return
	}
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	next, valid, err := s.checkLogoutCSRF(ctx, r, logoutBinding(sess))
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	if !valid || !sameOrigin(r, s.opts.Issuer) {
		s.logger.WarnContext(ctx, "logout refused", "reason", "missing, forged or expired form token")
		s.failPage(w, r, http.StatusForbidden, "logout.refused", "csrf.invalid", s.opts.Issuer+"/logout")
		return
	}
	s.EndBrowserSession(w, r, sess, next)
}
