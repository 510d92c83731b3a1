package idp

import (
	"context"
	"errors"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
)

// The one session-ending path. Whatever ends a session — "Esci", an OIDC
// end_session or SAML SLO request (both confirmed through "Esci"), an
// administrator revoking the registration, a new card or login replacing
// it, a refreshed CRL revoking the card, the idle or absolute timeout — it
// goes through ended: the notifiers revoke what they issued in it and say
// what to send, the end is counted and audited, and the deliveries go to
// the logout-delivery engine. Nothing else deletes a session to end it.

// EndSession ends the session sess (as read from the store: its ID is set)
// for cause. It reports sessions.ErrNotFound when the session was already
// gone: whoever removed it has told the relying parties.
func (s *Service) EndSession(ctx context.Context, sess *sessions.Session, cause string) error {
	if sess == nil || sess.ID == "" {
		return sessions.ErrNotFound
	}
	return s.endSessionID(ctx, sess.ID, cause)
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
// x509cns.Identity. The revocation checker calls it from the background.
func (s *Service) CardsRevoked(ctx context.Context, issuer string, serials []string) {
	for _, serial := range serials {
		regs, err := s.registry.List(ctx, registry.ListFilter{Issuer: issuer, Serial: serial})
		if err != nil {
			s.logger.ErrorContext(ctx, "sessions of a revoked card not ended", "issuer", issuer, "serial", serial, "err", err)
			continue
		}
		for _, reg := range regs {
			if _, err := s.EndCardSessions(ctx, reg.Fingerprint, CauseRevoked); err != nil {
				s.logger.ErrorContext(ctx, "sessions of a revoked card not ended", "issuer", issuer, "serial", serial, "err", err)
			}
		}
	}
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
	ip, _ := ctx.Value(keyRemoteIP).(string)
	s.auditCtx(ctx, auditRecord{kind: registry.KindSessionEnd, outcome: registry.OutcomeSuccess, session: sess, cause: cause}, RequestID(ctx), ip)
	for _, d := range deliveries {
		if d.Session == nil {
			d.Session = sess
		}
		s.delivery.Enqueue(d)
	}
}
