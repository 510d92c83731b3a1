package idp

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// RevocationCache answers from the CRLs already in memory whether a card
// is revoked: a lookup, never a network call or a wait, so that it can
// guard every use of a session. issuerKeyID is the hex SubjectKeyId of the
// card's CA (empty for sessions stored before it was kept: then issuer, the
// CA's common name, picks the CRL); serial is lower-case hex. known is
// false when no CRL of that CA is cached. cmd/cnsgate fills it from the
// revocation checker.
type RevocationCache interface {
	CardRevoked(issuerKeyID, issuer, serial string) (revoked, known bool)
}

// ErrSessionRevoked reports a session refused, and ended, because the
// cached CRL of its card's CA lists the card.
var ErrSessionRevoked = errors.New("idp: the session's card is revoked")

// The retried end of revoked cards' sessions: the first retry after
// revokedRetryMin, doubling up to revokedRetryMax; each store call bounded
// by revokedStoreTimeout.
const (
	revokedRetryMin     = 200 * time.Millisecond
	revokedRetryMax     = 5 * time.Second
	revokedStoreTimeout = 5 * time.Second
)

// SessionUsable is asked before every use of a session or of a grant made
// in it (SSO at /authorize and /saml/sso, refresh, /userinfo,
// /introspect): when the cached CRL now lists its card, the session is
// ended (cause revoked; every session of the card when sess came from an
// index and carries no ID) and ErrSessionRevoked returned. This holds even
// when the sweep that follows a CRL refresh failed or never ran.
func (s *Service) SessionUsable(ctx context.Context, sess *sessions.Session) error {
	if s.revoked == nil || sess == nil || sess.CardSerial == "" {
		return nil
	}
	if revoked, _ := s.revoked.CardRevoked(sess.IssuerKeyID, sess.Issuer, sess.CardSerial); !revoked {
		return nil
	}
	s.logger.WarnContext(ctx, "session of a revoked card refused", "session", sess)
	var err error
	if sess.ID != "" {
		err = s.EndSession(ctx, sess, CauseRevoked)
	} else {
		err = s.endRevokedCard(ctx, sess.CardFingerprint)
	}
	if err != nil && !errors.Is(err, sessions.ErrNotFound) {
		s.logger.ErrorContext(ctx, "session of a revoked card refused but not ended", "session", sess, "err", err)
	}
	return ErrSessionRevoked
}

// SweepRevoked ends the sessions of issuer's cards that the cached CRLs
// list: called when the issuer's first CRL is loaded (at start, or on the
// first login of its cards), so that cards revoked while cnsgate was down
// lose their sessions. It walks the sessions and looks each card up in the
// CRL's in-memory index, rather than each listed serial in the registry: a
// CRL may list a million serials and the registry hold millions of
// registrations, while the live sessions are what a revoked card keeps and
// each lookup is a hash probe. A store without sessions.Scanner is not
// swept (SessionUsable still refuses its sessions). Failures are retried
// like CardsRevoked's.
func (s *Service) SweepRevoked(ctx context.Context, issuer string) {
	sc, ok := s.sessions.(sessions.Scanner)
	if !ok || s.revoked == nil {
		s.logger.InfoContext(ctx, "sessions not swept for revoked cards: the store cannot list them", "issuer", issuer)
		return
	}
	var (
		scanned bool
		cards   = map[string]bool{}
	)
	s.retryRevoked(ctx, "sessions of revoked cards not swept", func(ctx context.Context) error {
		if !scanned {
			if err := s.scanRevoked(ctx, sc, issuer, cards); err != nil {
				return err
			}
			scanned = true
			if len(cards) > 0 {
				s.logger.InfoContext(ctx, "ending the sessions of cards revoked while cnsgate was down", "issuer", issuer, "cards", len(cards))
			}
		}
		var errs error
		for fp := range cards {
			if err := s.endRevokedCard(ctx, fp); err != nil {
				errs = errors.Join(errs, fmt.Errorf("card %.16s: %w", fp, err))
				continue
			}
			delete(cards, fp)
		}
		return errs
	})
}

// scanRevoked adds to cards the fingerprints of the issuer's revoked cards
// that hold a session.
func (s *Service) scanRevoked(ctx context.Context, sc sessions.Scanner, issuer string, cards map[string]bool) error {
	return sc.ScanSessions(ctx, func(sess *sessions.Session) error {
		if sess.Issuer != issuer || sess.CardSerial == "" || sess.CardFingerprint == "" {
			return nil
		}
		if revoked, _ := s.revoked.CardRevoked(sess.IssuerKeyID, sess.Issuer, sess.CardSerial); revoked {
			cards[sess.CardFingerprint] = true
		}
		return nil
	})
}

// retryRevoked runs attempt until it succeeds, waiting between tries with
// a doubling backoff bounded by revokedRetryMax, and gives up only when ctx
// ends (shutdown), saying so.
func (s *Service) retryRevoked(ctx context.Context, what string, attempt func(context.Context) error) {
	wait := revokedRetryMin
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			if n > 1 {
				s.logger.InfoContext(ctx, what+": done after retries", "attempts", n)
			}
			return
		}
		s.logger.ErrorContext(ctx, what+": will retry", "attempt", n, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			s.logger.ErrorContext(ctx, what+": given up at shutdown", "attempts", n, "err", err)
			return
		case <-t.C:
		}
		wait = min(2*wait, revokedRetryMax)
	}
}

// issuerKeyID is the hex SubjectKeyId a session keeps of its card's CA.
func issuerKeyID(ski []byte) string { return hex.EncodeToString(ski) }
