package idp

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns"
)

// The console's page of a citizen: the card registrations, the live
// sessions with "end session", and "revoke registrations"; each act through
// the one session-ending path (cause admin), so relying parties are told.

type consoleCitizen struct {
	consolePage
	FiscalCode    string
	Shown         bool
	Registrations []registry.Registration
	Sessions      []*sessions.Session
}

// citizenPage renders the citizen's page with flash or error.
func (c *console) citizenPage(w http.ResponseWriter, r *http.Request, sess *consoleSession, cf string, status int, flash, errText string) {
	p := consoleCitizen{consolePage: c.page(r, sess, "console.citizen.title", "citizen"), FiscalCode: cf}
	p.Flash, p.Error = flash, errText
	if cf != "" && errText == "" {
		regs, err := c.o.History.List(r.Context(), registry.ListFilter{FiscalCode: cf})
		if err != nil {
			c.s.unavailable(w, r, "registry", err)
			return
		}
		list, err := c.s.sessions.ListByFiscalCode(r.Context(), cf)
		if err != nil {
			c.s.unavailable(w, r, "sessions", err)
			return
		}
		p.Shown, p.Registrations, p.Sessions = true, regs, list
	}
	c.render(w, r, status, "console_citizen.html", p)
}

// citizenOf reads and checks the fiscal code of the request, "" with the
// reason when it is not one.
func citizenOf(raw string) (string, string) {
	cf := x509cns.NormalizeFiscalCode(raw)
	if cf == "" {
		return "", ""
	}
	if err := x509cns.ValidateFiscalCode(cf); err != nil {
		return "", maskedError(err, cf)
	}
	return cf, ""
}

// citizen is GET /citizen?fiscal_code=CF.
func (c *console) citizen(w http.ResponseWriter, r *http.Request, sess *consoleSession) {
	cf, problem := citizenOf(r.URL.Query().Get("fiscal_code"))
	if problem != "" {
		c.act(r, sess, "citizen", registry.OutcomeFailure, "", map[string]any{"problem": problem})
		c.citizenPage(w, r, sess, "", http.StatusBadRequest, "", fmt.Sprintf(web.LangFrom(r).T("console.audit.error"), problem))
		return
	}
	if cf != "" {
		c.act(r, sess, "citizen", registry.OutcomeSuccess, cf, nil)
	}
	c.citizenPage(w, r, sess, cf, http.StatusOK, "", "")
}

// endSession is POST /citizen/end-session: one of the citizen's sessions
// ends with cause admin; its relying parties are told.
func (c *console) endSession(w http.ResponseWriter, r *http.Request, sess *consoleSession) {
	lang := web.LangFrom(r)
	cf, problem := citizenOf(r.PostFormValue("fiscal_code"))
	hash := r.PostFormValue("session")
	if cf == "" || problem != "" || hash == "" {
		c.act(r, sess, "end_session", registry.OutcomeFailure, "", map[string]any{"problem": "no citizen or session"})
		c.citizenPage(w, r, sess, "", http.StatusBadRequest, "", lang.T("console.csrf"))
		return
	}
	list, err := c.s.sessions.ListByFiscalCode(r.Context(), cf)
	if err != nil {
		c.s.unavailable(w, r, "sessions", err)
		return
	}
	for _, s := range list {
		if s.IDHash == hash { // one of this citizen's sessions: that one ends
			if err := c.s.EndSessionByHash(r.Context(), hash, CauseAdmin); err != nil && !errors.Is(err, sessions.ErrNotFound) {
				c.s.unavailable(w, r, "sessions", err)
				return
			}
			c.act(r, sess, "end_session", registry.OutcomeSuccess, cf, map[string]any{"session": hash})
			c.citizenPage(w, r, sess, cf, http.StatusOK, lang.T("console.citizen.ended"), "")
			return
		}
	}
	c.act(r, sess, "end_session", registry.OutcomeFailure, cf, map[string]any{"session": hash, "problem": "no such session"})
	c.citizenPage(w, r, sess, cf, http.StatusNotFound, "", lang.T("console.citizen.notfound"))
}

// revoke is POST /citizen/revoke: every registration of the citizen
// revoked and their sessions ended (cause admin).
func (c *console) revoke(w http.ResponseWriter, r *http.Request, sess *consoleSession) {
	lang := web.LangFrom(r)
	cf, problem := citizenOf(r.PostFormValue("fiscal_code"))
	if cf == "" || problem != "" {
		c.act(r, sess, "revoke", registry.OutcomeFailure, "", map[string]any{"problem": "no citizen"})
		c.citizenPage(w, r, sess, "", http.StatusBadRequest, "", lang.T("console.csrf"))
		return
	}
	n, err := c.o.Revoker.Revoke(r.Context(), cf)
	if err != nil && !isNotRegistered(err) {
		c.s.unavailable(w, r, "registry", err)
		return
	}
	ended, err := c.s.EndCitizenSessions(r.Context(), cf, CauseAdmin)
	if err != nil {
		c.s.unavailable(w, r, "sessions", err)
		return
	}
	c.act(r, sess, "revoke", registry.OutcomeSuccess, cf, map[string]any{"revoked": n, "sessions_ended": ended})
	c.citizenPage(w, r, sess, cf, http.StatusOK, fmt.Sprintf(lang.T("console.citizen.revoked"), n, ended), "")
}

func isNotRegistered(err error) bool { return errors.Is(err, registry.ErrNotRegistered) }
