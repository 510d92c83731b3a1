package idp

import (
	"net/http"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/x509cns"
)

// The identity confirmation step (Options.ConfirmIdentity): after a valid
// card login the card listener shows "Stai per accedere come Mario Rossi"
// with the masked fiscal code. "Continua" posts the form back to
// /cns/login, where the card is judged again from that request's own
// handshake and the login goes on; "Non sono io" ends it with the advice to
// remove the card. On a shared PC it catches a card left in the reader.

const (
	choiceContinue = "continue"
	choiceNotMe    = "notme"
	choiceCancel   = "cancel" // the data-release page's "Annulla"
)

// confirmBinding ties a confirmation form to the card and the pending
// request it was shown for.
func confirmBinding(id *x509cns.Identity, req string) string {
	return "confirm|" + id.Fingerprint + "|" + req
}

// identityConfirmed is cnsLogin's confirmation step for a valid, registered
// card. It reports whether the login may complete; when false it has
// answered: the confirmation page (GET), "Non sono io", or a refused form.
func (s *Service) identityConfirmed(w http.ResponseWriter, r *http.Request, id *x509cns.Identity, req string) bool {
	if !s.opts.ConfirmIdentity {
		return true
	}
	if r.Method != http.MethodPost {
		s.askConfirmation(w, r, id, req)
		return false
	}
	if !sameOrigin(r, s.opts.CNSOrigin) {
		s.confirmRefused(w, r, id, "cross-origin confirmation post")
		return false
	}
	valid, err := s.checkCSRF(r.Context(), r, confirmBinding(id, req))
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return false
	}
	if !valid {
		s.confirmRefused(w, r, id, "missing, forged or expired confirmation token")
		return false
	}
	switch r.PostFormValue("choice") {
	case choiceContinue:
		return true
	case choiceNotMe:
		s.notMe(w, r, id)
	default:
		s.confirmRefused(w, r, id, "confirmation form without a choice")
	}
	return false
}

// askConfirmation renders "Stai per accedere come …".
func (s *Service) askConfirmation(w http.ResponseWriter, r *http.Request, id *x509cns.Identity, req string) {
	tok, err := s.issueCSRF(r.Context(), confirmBinding(id, req))
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	lang := web.LangFrom(r)
	s.render(w, r, http.StatusOK, "confirm.html", page{Lang: lang, Title: lang.T("confirm.title"), Identity: id,
		Message: x509cns.MaskFiscalCode(id.FiscalCode), CSRF: tok, LoginURL: s.loginURL(req)})
}

// notMe is "Non sono io": no login, an audited refusal, and the advice to
// remove the card and close the browser.
func (s *Service) notMe(w http.ResponseWriter, r *http.Request, id *x509cns.Identity) {
	s.logger.InfoContext(r.Context(), "login cancelled: the citizen did not confirm the card's identity")
	s.audit(r, auditRecord{kind: registry.KindLogin, outcome: registry.OutcomeFailure, identity: id, detail: "identity not confirmed (Non sono io)"})
	lang := web.LangFrom(r)
	s.render(w, r, http.StatusOK, "notme.html", page{Lang: lang, Title: lang.T("notme.title"), BackURL: s.opts.Issuer + "/"})
}

func (s *Service) confirmRefused(w http.ResponseWriter, r *http.Request, id *x509cns.Identity, detail string) {
	s.logger.WarnContext(r.Context(), "identity confirmation refused", "detail", detail)
	s.audit(r, auditRecord{kind: registry.KindLogin, outcome: registry.OutcomeFailure, identity: id, detail: detail})
	s.failPage(w, r, http.StatusForbidden, "error.title", "csrf.invalid", s.loginURL(""))
}
