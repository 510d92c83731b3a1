package idp

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
)

// The one session-ending path. Whatever ends a session — "Esci", an OIDC
// end_session request (confirmed through "Esci", or at once with a hint of
// the session: Service.EndBrowserSession), a SAML LogoutRequest (signed by
// a participant: at once; otherwise confirmed), an
// administrator revoking the registration, a new card or login replacing
// it, a refreshed CRL revoking the card, the idle or absolute timeout — it
// goes through ended: the notifiers revoke what they issued in it and say
// what to send, the end is counted and audited, and the deliveries go to
// the logout-delivery engine. Nothing else deletes a session to end it.

// FrontChannelLogout is the optional ability of a LogoutNotifier whose
// relying parties are told through the citizen's browser (SAML SPs with
// only HTTP-Redirect or HTTP-POST SingleLogoutServices): after a logout by
// the citizen, the browser is sent through them before it goes on.
type FrontChannelLogout interface {
	// FrontChannel returns the URL that takes the browser through the
	// front-channel logouts of sess, which has just ended, and then to
	// next; "" when it has none to make.
	FrontChannel(ctx context.Context, sess *sessions.Session, next string) (string, error)
}

// EndBrowserSession ends the session of this browser (sess, as read for
// r) for cause logout: the session ends through the one path, the cookie
// is cleared, and the browser goes through the notifiers' front-channel
// logouts (FrontChannelLogout), then to next, or to the logged-out page
// when next is empty. "Esci" after its confirmation, an OIDC end_session
// whose id_token_hint names this session, and a signed SAML LogoutRequest
// from a participant of the session end here.
func (s *Service) EndBrowserSession(w http.ResponseWriter, r *http.Request, sess *sessions.Session, next string) {
	ctx := r.Context()
	err := s.EndSession(ctx, sess, CauseLogout)
	if err != nil && !isDomainErr(err) {
		s.unavailable(w, r, "sessions", err)
		return
	}
	clearSessionCookie(w)
	if err == nil {
		final := next
		if final == "" {
			final = s.opts.Issuer + "/logout" // without a session: the logged-out page
		}
		if u := s.frontChannel(ctx, sess, final); u != "" {
			http.Redirect(w, r, u, http.StatusSeeOther)
			return
		}
	}
	s.loggedOut(w, r, next)
}

// frontChannel chains the notifiers' front-channel logouts, the last one
// going to next; "" when none has any. A notifier that fails is logged
// and left out: the session has ended whatever it says.
func (s *Service) frontChannel(ctx context.Context, sess *sessions.Session, next string) string {
	s.mu.RLock()
	notifiers := append([]LogoutNotifier(nil), s.notifiers...)
	s.mu.RUnlock()
	start := next
	for i := len(notifiers) - 1; i >= 0; i-- {
		fc, ok := notifiers[i].(FrontChannelLogout)
		if !ok {
			continue
		}
		u, err := fc.FrontChannel(ctx, sess, start)
		if err != nil {
			s.logger.WarnContext(ctx, "front-channel logout not started", "err", err)
			continue
		}
		if u != "" {
			start = u
		}
	}
	if start == next {
		return ""
	}
	return start
}

// EndSession ends the session sess (as read from the store: its ID is set)
// for cause. It reports sessions.ErrNotFound when the session was already
// gone: whoever removed it has told the relying parties.
func (s *Service) EndSession(ctx context.Context, sess *sessions.Session, cause string) error {
	if sess == nil || sess.ID == "" {
		return sessions.ErrNotFound
	}
	return s.endSessionID(ctx, sess.ID, cause)
}

// EndSessionByHash ends the session whose id hashes to idHash (one picked
// from a listing, which carries hashes only), as EndSession does.
func (s *Service) EndSessionByHash(ctx context.Context, idHash, cause string) error {
	removed, err := s.sessions.DeleteByHash(ctx, idHash)
	if removed != nil {
		s.ended(ctx, removed, cause)
	}
	return err
}

func (s *Service) endSessionID(ctx context.Context, id, cause string) error {
	removed, err := s.sessions.Delete(ctx, id)
	if err != nil {
		return err
	}
	s.ended(ctx, removed, cause)
	return nil
}

// EndCardSessions ends every session opened with the card of this
// certificate fingerprint and returns how many were live.
func (s *Service) EndCardSessions(ctx context.Context, fingerprint, cause string) (int, error) {
	removed, err := s.sessions.DeleteByCard(ctx, fingerprint)
	for _, sess := range removed {
		s.ended(ctx, sess, cause)
	}
	return len(removed), err
}

// EndCitizenSessions ends every session of the citizen and returns how
// many were live.
func (s *Service) EndCitizenSessions(ctx context.Context, fiscalCode, cause string) (int, error) {
	removed, err := s.sessions.DeleteByFiscalCode(ctx, fiscalCode)
	for _, sess := range removed {
		s.ended(ctx, sess, cause)
	}
	return len(removed), err
}

// SessionExpired ends the session a store call reported past a deadline
// (an *sessions.ExpiredError carrying the record the call removed), for
// cause idle or absolute, and reports whether err was such an expiry.
// Every caller of Get, Touch or AddParticipant passes its error here.
func (s *Service) SessionExpired(ctx context.Context, err error) bool {
	var exp *sessions.ExpiredError
	if !errors.As(err, &exp) {
		return false
	}
	if exp.Session != nil {
		s.ended(ctx, exp.Session, exp.Cause)
	}
	return true
}

// CardsRevoked ends the sessions of cards that a refreshed CRL newly lists.
// issuer is the CA's common name and serials are lower-case hex, as in
// x509cns.Identity. The revocation checker calls it from the background,
// once per CRL: the serials are never reported again, so a failure (the
// registry or the session store hung) is retried with a bounded backoff
// until every card is done or ctx ends (shutdown).
func (s *Service) CardsRevoked(ctx context.Context, issuer string, serials []string) {
	pending := serials
	s.retryRevoked(ctx, "sessions of revoked cards not ended", func(ctx context.Context) error {
		var err error
		pending, err = s.endRevokedSerials(ctx, issuer, pending)
		return err
	})
}

// endRevokedSerials ends the sessions of the cards with these serials and
// returns the serials it could not finish, with why.
func (s *Service) endRevokedSerials(ctx context.Context, issuer string, serials []string) ([]string, error) {
	var (
		left []string
		errs error
	)
	for _, serial := range serials {
		regs, err := s.registry.List(ctx, registry.ListFilter{Issuer: issuer, Serial: serial})
		for _, reg := range regs {
			if err != nil {
				break
			}
			err = s.endRevokedCard(ctx, reg.Fingerprint)
		}
		if err != nil {
			left = append(left, serial)
			errs = errors.Join(errs, fmt.Errorf("card %s of %q: %w", serial, issuer, err))
		}
	}
	return left, errs
}

// endRevokedCard ends the sessions of one revoked card, the store call
// bounded by revokedStoreTimeout whatever the store's own timeouts.
func (s *Service) endRevokedCard(ctx context.Context, fingerprint string) error {
	ctx, cancel := context.WithTimeout(ctx, revokedStoreTimeout)
	defer cancel()
	_, err := s.EndCardSessions(ctx, fingerprint, CauseRevoked)
	return err
}

// ended is the end of a session the store has just removed (and returned
// to this caller only, so that it ends once): the notifiers revoke the
// tokens issued in it and build their deliveries, the end is counted and
// audited, and the deliveries are queued. The context may be a request's
// or a background one; nothing here waits for a relying party.
func (s *Service) ended(ctx context.Context, sess *sessions.Session, cause string) {
	s.mu.RLock()
	notifiers := append([]LogoutNotifier(nil), s.notifiers...)
	s.mu.RUnlock()
	var deliveries []LogoutDelivery
	for _, n := range notifiers {
		deliveries = append(deliveries, n.SessionEnded(ctx, sess, cause)...)
	}
	s.recorder.SessionEnded(cause)
	ip := remoteIP(ctx)
	s.auditCtx(ctx, auditRecord{kind: registry.KindSessionEnd, outcome: registry.OutcomeSuccess, session: sess, cause: cause}, RequestID(ctx), ip)
	for _, d := range deliveries {
		if d.Session == nil {
			d.Session = sess
		}
		s.delivery.Enqueue(d)
	}
}
