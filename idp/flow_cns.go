package idp

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns"
)

// The card listener: every request is judged from its own connection (or
// trusted proxy header), then the registration is looked up.

// reqParam returns the pending-request id of a URL or form, or "" when it
// is absent or not shaped like one of ours.
func reqParam(v string) string {
	if len(v) < 20 || len(v) > 64 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return ""
		}
	}
	return v
}

// authenticate judges the card and records a refusal; ok is false when the
// response has been written.
func (s *Service) authenticate(w http.ResponseWriter, r *http.Request, back string) (*x509cns.Result, bool) {
	res, err := s.front.Authenticate(r)
	if err != nil {
		reason := x509cns.ReasonOf(err)
		var card *RefusedCard
		var id *x509cns.Identity
		if errors.As(err, &card) {
			id = card.Identity // whose card it was, for the audit trail
		}
		s.loginFailed(r, reason, err, id)
		status := http.StatusForbidden
		if reason == x509cns.ReasonRevocationUnavailable || reason == x509cns.ReasonInternal {
			status = http.StatusServiceUnavailable
		}
		s.refuse(w, r, status, reason, back)
		return nil, false
	}
	return res, true
}

// cnsLogin is "Login TS-CNS": a registered card gets a session and is sent
// back to the public origin with a one-time handoff code; an unregistered
// one gets "Registra TS-CNS".
func (s *Service) cnsLogin(w http.ResponseWriter, r *http.Request) {
	req := reqParam(r.URL.Query().Get("req"))
	r = s.pendingLang(r, req)
	back := s.retryURL(req)
	res, ok := s.authenticate(w, r, back)
	if !ok {
		return
	}
	id := res.Identity
	ctx := r.Context()
	op, err := s.authorizeLogin(ctx, id)
	switch {
	case err == nil:
	case errors.Is(err, registry.ErrNotRegistered):
		s.offerRegistration(w, r, id, req)
		return
	case errors.Is(err, registry.ErrReplaced):
		s.loginFailed(r, x509cns.ReasonRegistrationReplaced, err, id)
		s.refuse(w, r, http.StatusForbidden, x509cns.ReasonRegistrationReplaced, back)
		return
	case errors.Is(err, registry.ErrRevoked):
		s.loginFailed(r, x509cns.ReasonRegistrationRevoked, err, id)
		s.refuse(w, r, http.StatusForbidden, x509cns.ReasonRegistrationRevoked, back)
		return
	default:
		s.unavailable(w, r, "registry", err)
		return
	}
	sess := &sessions.Session{
		FiscalCode: id.FiscalCode, CardFingerprint: id.Fingerprint, CardSerial: id.Serial, Issuer: id.Issuer,
		IssuerKeyID: issuerKeyID(res.Issuer().SubjectKeyId),
		AuthTime:    s.opts.Now(), AMR: AMR(), ACR: ACRSmartcard,
		GivenName: id.GivenName, FamilyName: id.FamilyName, Region: id.Region, CardID: id.CardID, CardType: string(id.CardType),
	}
	op, note := s.operatorRoles(ctx, id, op)
	if op != nil {
		sess.Roles, sess.OrganisationID, sess.OrganisationName = op.Roles, op.Organisation, op.OrganisationName
	}
	// The handoff is bound to the browser that started the login; a login
	// begun here first goes through the public origin to be bound
	// (handoff.go).
	browser, client, err := s.browserOf(ctx, req)
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	if browser == "" {
		http.Redirect(w, r, s.opts.Issuer+PathStart, http.StatusSeeOther)
		return
	}
	// Asked last, just before the handoff: "Continua" comes back here with
	// the same request and goes straight on.
	if !s.identityConfirmed(w, r, id, req) {
		return
	}
	// The session is created at /cns/complete: the handoff code carries its
	// record, never its id, so no bearer secret sits in the shared store.
	code, err := s.newID()
	if err == nil {
		raw, _ := jsonMarshal(handoff{Session: sess, Req: req, Browser: browser, Note: note, Client: client})
		err = s.ephemeral.Put(ctx, nsHandoff, code, raw, handoffTTL)
	}
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	s.recorder.LoginAttempt(OutcomeSuccess, "")
	http.Redirect(w, r, s.opts.Issuer+"/cns/complete?code="+url.QueryEscape(code), http.StatusSeeOther)
}

// offerRegistration shows "Registra TS-CNS" for a valid, unregistered card.
func (s *Service) offerRegistration(w http.ResponseWriter, r *http.Request, id *x509cns.Identity, req string) {
	ctx := r.Context()
	if s.opts.AllowlistOnly {
		ok, err := s.registry.IsEligible(ctx, id.FiscalCode)
		if err != nil {
			s.unavailable(w, r, "registry", err)
			return
		}
		if !ok {
			s.loginFailed(r, x509cns.ReasonNotEligible, nil, id)
			s.refuse(w, r, http.StatusForbidden, x509cns.ReasonNotEligible, s.opts.Issuer+"/")
			return
		}
	}
	s.loginFailed(r, x509cns.ReasonNotRegistered, nil, id)
	s.registerForm(w, r, id, req, http.StatusOK, "")
}

// registerForm renders "Registra TS-CNS" with a new form token, and the
// message errKey above it when it is shown again.
func (s *Service) registerForm(w http.ResponseWriter, r *http.Request, id *x509cns.Identity, req string, status int, errKey string) {
	tok, err := s.issueCSRF(r.Context(), registerBinding(id, req))
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	lang := web.LangFrom(r)
	p := page{Lang: lang, Title: lang.T("register.title"), Identity: id, CSRF: tok, Req: req, ConsentVersion: s.opts.ConsentVersion}
	if errKey != "" {
		p.Error = lang.T(errKey)
	}
	s.render(w, r, status, "register.html", p)
}

func registerBinding(id *x509cns.Identity, req string) string {
	return "register|" + id.Fingerprint + "|" + req
}

// cnsRegister stores the binding of the presented card to its fiscal code.
// The card is judged again from this request's own connection, and the
// form's token must have been issued to this card.
func (s *Service) cnsRegister(w http.ResponseWriter, r *http.Request) {
	req := reqParam(r.PostFormValue("req"))
	r = s.pendingLang(r, req)
	ctx := r.Context()
	back := s.opts.Issuer + "/"
	res, ok := s.authenticate(w, r, back)
	if !ok {
		return
	}
	id := res.Identity
	if !sameOrigin(r, s.opts.CNSOrigin) {
		s.registrationFailed(w, r, id, "cross-origin form post", "csrf.invalid", http.StatusForbidden)
		return
	}
	valid, err := s.checkCSRF(ctx, r, registerBinding(id, req))
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	if !valid {
		s.registrationFailed(w, r, id, "missing, forged or expired form token", "csrf.invalid", http.StatusForbidden)
		return
	}
	if r.PostFormValue("consent") != "yes" {
		// The form comes back with a fresh token, to be sent again.
		s.registrationRefused(r, id, "consent not given")
		s.registerForm(w, r, id, req, http.StatusBadRequest, "register.noconsent")
		return
	}
	if s.opts.AllowlistOnly {
		eligible, err := s.registry.IsEligible(ctx, id.FiscalCode)
		if err != nil {
			s.unavailable(w, r, "registry", err)
			return
		}
		if !eligible {
			s.registrationFailed(w, r, id, "not in the allowlist", "reason."+string(x509cns.ReasonNotEligible), http.StatusForbidden)
			return
		}
	}
	reg, replaced, err := s.registry.Register(ctx, registry.Registration{
		FiscalCode: id.FiscalCode, CardID: id.CardID, Issuer: id.Issuer, Serial: id.Serial, Fingerprint: id.Fingerprint,
		GivenName: id.GivenName, FamilyName: id.FamilyName, Region: id.Region, CardType: string(id.CardType),
		ConsentVersion: s.opts.ConsentVersion, ConsentChannel: registry.ChannelWeb,
	})
	switch {
	case err == nil:
	case errors.Is(err, registry.ErrReplaced):
		s.registrationFailed(w, r, id, err.Error(), "reason."+string(x509cns.ReasonRegistrationReplaced), http.StatusConflict)
		return
	case errors.Is(err, registry.ErrRevoked):
		s.registrationFailed(w, r, id, err.Error(), "reason."+string(x509cns.ReasonRegistrationRevoked), http.StatusConflict)
		return
	default:
		s.unavailable(w, r, "registry", err)
		return
	}
	if replaced != nil {
		// The old card no longer logs in; its open sessions end now.
		if _, err := s.EndCardSessions(ctx, replaced.Fingerprint, CauseReplaced); err != nil {
			s.logger.WarnContext(ctx, "sessions of the replaced card not ended", "err", err)
		}
	}
	s.registered(r, reg, replaced)
	lang := web.LangFrom(r)
	p := page{Lang: lang, Title: lang.T("registered.title"), LoginURL: s.loginURL(req)}
	if replaced != nil {
		p.Supersedes = cardLabel(*replaced) // "Questa tessera sostituisce la tessera n. …"
	}
	s.render(w, r, http.StatusOK, "registered.html", p)
}

func (s *Service) registrationFailed(w http.ResponseWriter, r *http.Request, id *x509cns.Identity, detail, msgKey string, status int) {
	s.registrationRefused(r, id, detail)
	s.failPage(w, r, status, "register.failed", msgKey, s.loginURL(""))
}

// registrationRefused counts and audits a refused registration.
func (s *Service) registrationRefused(r *http.Request, id *x509cns.Identity, detail string) {
	s.recorder.Registration(OutcomeFailure)
	s.audit(r, auditRecord{kind: registry.KindRegistration, outcome: registry.OutcomeFailure, identity: id, detail: detail})
}

// cnsCheck reports the verdict on the presented card as JSON, without
// logging in: a diagnostic for operators and help desks ("is my card
// accepted?"). It reveals nothing the card holder does not already hold.
func (s *Service) cnsCheck(w http.ResponseWriter, r *http.Request) {
	res, err := s.front.Authenticate(r)
	if err != nil {
		writeJSON(w, http.StatusForbidden, map[string]any{"verdict": "rejected", "reason": x509cns.ReasonOf(err), "request_id": RequestID(r.Context())})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"verdict": "accepted", "identity": res.Identity})
}
