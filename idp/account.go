package idp

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns"
)

// "La mia tessera" (PathAccount), on the public origin, for a citizen with
// a session: the cards registered to the fiscal code with their status and
// dates, "Rimuovi questa tessera" (a confirm step; the session ends when it
// is the card in use), the consent with "Revoca il consenso" (a confirm
// step; every session of the citizen ends, the relying parties are told,
// and the citizen must register and consent again to log in), and the
// citizen's own access history, paginated, with a CSV download
// (account_history.go). Every POST carries a form token bound to the
// session and to the act, and passes the Origin check; every act is
// audited and ends sessions through the one session-ending path.

// The paths of "La mia tessera".
const (
	PathAccount         = "/account"
	PathAccountRemove   = "/account/card/remove"
	PathAccountWithdraw = "/account/consent/withdraw"
	PathAccountCSV      = "/account/history.csv"
	PathAccountDone     = "/account/done"
)

// maxAccountForm bounds the body of a POST of "La mia tessera".
const maxAccountForm = 4 << 10

// accountView is what the pages of "La mia tessera" show.
type accountView struct {
	Cards   []cardView
	Consent *registry.Consent // the latest; nil when none was recorded
	History []access
	// PageNo is the history's page (1 is the newest); PrevURL and NextURL
	// lead to the pages around it ("" when there is none).
	PageNo           int
	PrevURL, NextURL string
	// Card is the card of a confirm step; Notice a message on the page.
	Card   *cardView
	Notice string
}

// cardView is one registered card.
type cardView struct {
	ID           int64
	Label        string // the card number, else the certificate serial
	Status       registry.Status
	RegisteredAt time.Time
	LastLoginAt  time.Time
	EndedAt      time.Time // replaced or revoked
	Current      bool      // the card of this session
}

// Removable reports whether "Rimuovi questa tessera" is offered.
func (c cardView) Removable() bool { return c.Status != registry.StatusRevoked }

func cardOf(r registry.Registration, sess *sessions.Session) cardView {
	return cardView{
		ID: r.ID, Label: cardLabel(r), Status: r.Status, RegisteredAt: r.RegisteredAt, LastLoginAt: r.LastLoginAt,
		EndedAt: cmpTime(r.RevokedAt, r.ReplacedAt), Current: r.Fingerprint == sess.CardFingerprint,
	}
}

// cardLabel names a card to its holder: its number, else its serial.
func cardLabel(r registry.Registration) string { return cmp.Or(r.CardID, r.Serial) }

// cmpTime is the first non-zero time.
func cmpTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// accountSession is the session of a page of "La mia tessera"; without one
// the browser is sent to the login page and ok is false.
func (s *Service) accountSession(w http.ResponseWriter, r *http.Request) (*sessions.Session, bool) {
	sess, err := s.CurrentSession(r)
	switch {
	case errors.Is(err, sessions.ErrNotFound):
		http.Redirect(w, r, s.opts.Issuer+"/", http.StatusSeeOther)
		return nil, false
	case err != nil:
		s.unavailable(w, r, "sessions", err)
		return nil, false
	}
	return sess, true
}

func accountBinding(sess *sessions.Session, act string) string {
	return "account|" + sess.IDHash + "|" + act
}

// account renders "La mia tessera".
func (s *Service) account(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.accountSession(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	lang := web.LangFrom(r)
	v := &accountView{PageNo: historyPage(r)}
	regs, err := s.registry.List(ctx, registry.ListFilter{FiscalCode: sess.FiscalCode})
	if err != nil {
		s.unavailable(w, r, "registry", err)
		return
	}
	for i := len(regs) - 1; i >= 0; i-- { // newest first
		v.Cards = append(v.Cards, cardOf(regs[i], sess))
	}
	consents, err := s.registry.Consents(ctx, sess.FiscalCode)
	if err != nil {
		s.unavailable(w, r, "registry", err)
		return
	}
	if len(consents) > 0 {
		v.Consent = &consents[len(consents)-1]
	}
	if err := s.historyPageOf(r, sess, v); err != nil {
		s.unavailable(w, r, "registry", err)
		return
	}
	if r.URL.Query().Get("removed") == "1" {
		v.Notice = lang.T("account.removed")
	}
	s.render(w, r, http.StatusOK, "account.html", page{Lang: lang, Title: lang.T("account.title"), Session: sess,
		Account: v, LoggedIn: true})
}

// removeCardPage is the confirm step of "Rimuovi questa tessera".
func (s *Service) removeCardPage(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.accountSession(w, r)
	if !ok {
		return
	}
	card, ok := s.ownCard(w, r, sess, r.URL.Query().Get("card"))
	if !ok {
		return
	}
	s.confirmPage(w, r, sess, "remove|"+strconv.FormatInt(card.ID, 10), &accountView{Card: card})
}

// withdrawPage is the confirm step of "Revoca il consenso".
func (s *Service) withdrawPage(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.accountSession(w, r)
	if !ok {
		return
	}
	s.confirmPage(w, r, sess, "withdraw", &accountView{})
}

func (s *Service) confirmPage(w http.ResponseWriter, r *http.Request, sess *sessions.Session, act string, v *accountView) {
	tok, err := s.issueCSRF(r.Context(), accountBinding(sess, act))
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	lang := web.LangFrom(r)
	title := lang.T("account.withdraw.title")
	if v.Card != nil {
		title = lang.T("account.remove.title")
	}
	s.render(w, r, http.StatusOK, "account_confirm.html", page{Lang: lang, Title: title, Session: sess,
		Account: v, CSRF: tok, LoggedIn: true})
}

// ownCard finds the card of the citizen with this id among those that can
// be removed; otherwise the citizen is told and ok is false.
func (s *Service) ownCard(w http.ResponseWriter, r *http.Request, sess *sessions.Session, id string) (*cardView, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err == nil && n > 0 {
		regs, err := s.registry.List(r.Context(), registry.ListFilter{FiscalCode: sess.FiscalCode})
		if err != nil {
			s.unavailable(w, r, "registry", err)
			return nil, false
		}
		for _, reg := range regs {
			if c := cardOf(reg, sess); c.ID == n && c.Removable() {
				return &c, true
			}
		}
	}
	s.logger.WarnContext(r.Context(), "card removal refused", "reason", "no such removable card of the citizen", "card", id)
	s.countAccount(AccountActionRefused)
	s.failPage(w, r, http.StatusNotFound, "account.title", "account.nocard", s.opts.Issuer+PathAccount)
	return nil, false
}

// accountPost reads a POST of "La mia tessera" and checks its session,
// Origin and form token (bound to act); ok is false when it has answered.
func (s *Service) accountPost(w http.ResponseWriter, r *http.Request, act func(*http.Request) string) (*sessions.Session, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAccountForm)
	if err := r.ParseForm(); err != nil {
		s.accountRefused(w, r, "unreadable form")
		return nil, false
	}
	sess, ok := s.accountSession(w, r)
	if !ok {
		return nil, false
	}
	if !sameOrigin(r, s.opts.Issuer) {
		s.accountRefused(w, r, "cross-origin form post")
		return nil, false
	}
	valid, err := s.checkCSRF(r.Context(), r, accountBinding(sess, act(r)))
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return nil, false
	}
	if !valid {
		s.accountRefused(w, r, "missing, forged or expired form token")
		return nil, false
	}
	return sess, true
}

func (s *Service) accountRefused(w http.ResponseWriter, r *http.Request, reason string) {
	s.logger.WarnContext(r.Context(), "account action refused", "path", r.URL.Path, "reason", reason)
	s.countAccount(AccountActionRefused)
	s.failPage(w, r, http.StatusForbidden, "account.title", "csrf.invalid", s.opts.Issuer+PathAccount)
}

// removeCard is "Rimuovi questa tessera" confirmed: the card is revoked,
// its sessions end (cause unregistered), and when it was the card of this
// session the browser is logged out.
func (s *Service) removeCard(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.accountPost(w, r, func(r *http.Request) string { return "remove|" + r.PostForm.Get("card") })
	if !ok {
		return
	}
	ctx := r.Context()
	id, _ := strconv.ParseInt(r.PostForm.Get("card"), 10, 64)
	reg, err := s.registry.RemoveCard(ctx, sess.FiscalCode, id)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		s.logger.WarnContext(ctx, "card removal refused", "reason", "no such removable card of the citizen")
		s.countAccount(AccountActionRefused)
		s.failPage(w, r, http.StatusNotFound, "account.title", "account.nocard", s.opts.Issuer+PathAccount)
		return
	case err != nil:
		s.unavailable(w, r, "registry", err)
		return
	}
	s.countAccount(AccountActionRemoveCard)
	s.audit(r, auditRecord{kind: registry.KindCardRemoved, outcome: registry.OutcomeSuccess,
		identity: &x509cns.Identity{FiscalCode: reg.FiscalCode, Serial: reg.Serial, Issuer: reg.Issuer}, detail: "channel " + registry.ChannelWeb})
	if _, err := s.EndCardSessions(ctx, reg.Fingerprint, CauseUnregistered); err != nil {
		s.logger.WarnContext(ctx, "sessions of the removed card not ended", "err", err)
	}
	if reg.Fingerprint != sess.CardFingerprint {
		http.Redirect(w, r, s.opts.Issuer+PathAccount+"?removed=1", http.StatusSeeOther)
		return
	}
	s.accountEnded(w, r, sess, "removed")
}

// withdrawConsent is "Revoca il consenso" confirmed: the consent is marked
// withdrawn (the record is kept), every session of the citizen ends (cause
// consent_withdrawn) and the browser is logged out.
func (s *Service) withdrawConsent(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.accountPost(w, r, func(*http.Request) string { return "withdraw" })
	if !ok {
		return
	}
	ctx := r.Context()
	if _, err := s.registry.WithdrawConsent(ctx, sess.FiscalCode, registry.ChannelWeb); err != nil && !errors.Is(err, registry.ErrNotFound) {
		s.unavailable(w, r, "registry", err)
		return
	}
	s.countAccount(AccountActionWithdrawConsent)
	s.audit(r, auditRecord{kind: registry.KindConsentWithdrawn, outcome: registry.OutcomeSuccess, session: sess, detail: "channel " + registry.ChannelWeb})
	if _, err := s.EndCitizenSessions(ctx, sess.FiscalCode, CauseConsentWithdrawn); err != nil {
		s.logger.WarnContext(ctx, "sessions of the citizen not ended after the consent's withdrawal", "err", err)
	}
	s.accountEnded(w, r, sess, "withdrawn")
}

// accountEnded logs the browser out after its session ended through the one
// path: the cookie is cleared, the browser goes through the front-channel
// logouts, then to the page saying what happened (what: "removed" or
// "withdrawn").
func (s *Service) accountEnded(w http.ResponseWriter, r *http.Request, sess *sessions.Session, what string) {
	clearSessionCookie(w)
	next := s.opts.Issuer + PathAccountDone + "?what=" + what
	if u := s.frontChannel(r.Context(), sess, next); u != "" {
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	}
	s.accountDoneAs(w, r, what)
}

// accountDone is the page after a card removal that ended this browser's
// session, or a withdrawal of consent.
func (s *Service) accountDone(w http.ResponseWriter, r *http.Request) {
	s.accountDoneAs(w, r, r.URL.Query().Get("what"))
}

func (s *Service) accountDoneAs(w http.ResponseWriter, r *http.Request, what string) {
	if what != "removed" && what != "withdrawn" {
		s.notFound(w, r)
		return
	}
	lang := web.LangFrom(r)
	s.render(w, r, http.StatusOK, "account_done.html", page{Lang: lang, Title: lang.T("account." + what + ".title"),
		Message: lang.T("account." + what + ".text"), BackURL: s.opts.Issuer + "/"})
}

// Account actions (the action label of cnsgate_account_actions_total).
const (
	AccountActionRemoveCard      = "remove_card"
	AccountActionWithdrawConsent = "withdraw_consent"
	AccountActionHistoryCSV      = "history_csv"
	AccountActionRefused         = "refused"
)

// AccountRecorder is the optional ability of a Recorder to count the acts
// of "La mia tessera"; idp/metrics implements it.
type AccountRecorder interface {
	AccountAction(action string)
}

func (s *Service) countAccount(action string) {
	if ar, ok := s.recorder.(AccountRecorder); ok {
		ar.AccountAction(action)
	}
}
