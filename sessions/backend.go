package sessions

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// IDBytes is the number of random bytes in a session id (256 bits).
const IDBytes = 32

// NewID returns a fresh session id: IDBytes read from r, base64url without
// padding (43 characters, safe in a cookie).
func NewID(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("sessions: no source of randomness")
	}
	b := make([]byte, IDBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("sessions: reading random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashKey returns the lower-case hex SHA-256 of s. Stores key sessions,
// ephemeral values and the per-citizen index by it, so that neither secrets
// nor fiscal codes appear in key names.
func HashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Start validates a new session and sets its timestamps: CreatedAt and
// LastSeen to now, IdleTimeout to idle, the absolute deadline to
// now+absolute and the idle deadline to now+idle, capped at the absolute one.
// Participants without JoinedAt get now; a repeated protocol and client is
// dropped. It does not touch ID.
func (s *Session) Start(now time.Time, idle, absolute time.Duration) error {
	switch {
	case s == nil:
		return errors.New("sessions: nil session")
	case s.FiscalCode == "":
		return errors.New("sessions: session without fiscal code")
	case !isSHA256Hex(s.CardFingerprint):
		return fmt.Errorf("sessions: card fingerprint %q is not a lower-case hex SHA-256", s.CardFingerprint)
	case idle <= 0 || absolute <= 0:
		return fmt.Errorf("sessions: timeouts must be positive, got idle %s and absolute %s", idle, absolute)
	}
	var parties []Participant
	for _, p := range s.Participants {
		if err := p.Validate(); err != nil {
			return err
		}
		if slices.ContainsFunc(parties, func(q Participant) bool { return q.Protocol == p.Protocol && q.ClientID == p.ClientID }) {
			continue // as AddParticipant: the first record of a party wins
		}
		if p.JoinedAt.IsZero() {
			p.JoinedAt = now
		}
		parties = append(parties, p)
	}
	s.Participants = parties
	s.CreatedAt, s.LastSeen, s.IdleTimeout = now, now, idle
	s.AbsoluteDeadline = now.Add(absolute)
	s.IdleDeadline = minTime(now.Add(idle), s.AbsoluteDeadline)
	return nil
}

// Expired returns an *ExpiredError when now has reached a deadline, the
// absolute one first, and nil otherwise. A session expires at its deadline.
func (s *Session) Expired(now time.Time) error {
	switch {
	case !now.Before(s.AbsoluteDeadline):
		return &ExpiredError{Cause: CauseAbsolute}
	case !now.Before(s.IdleDeadline):
		return &ExpiredError{Cause: CauseIdle}
	}
	return nil
}

// slide records activity at now (what Store.Touch does).
func (s *Session) slide(now time.Time) {
	s.LastSeen = now
	s.IdleDeadline = minTime(now.Add(s.IdleTimeout), s.AbsoluteDeadline)
}

// Validate checks that a participant names a known protocol and a client.
func (p Participant) Validate() error {
	if p.Protocol != ProtocolOIDC && p.Protocol != ProtocolSAML {
		return fmt.Errorf("sessions: participant protocol %q is neither %q nor %q", p.Protocol, ProtocolOIDC, ProtocolSAML)
	}
	if p.ClientID == "" {
		return errors.New("sessions: participant without client id")
	}
	return nil
}

// CheckTTL rejects a non-positive Ephemeral TTL.
func CheckTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("sessions: ttl must be positive, got %s", ttl)
	}
	return nil
}

// CheckValueSize rejects a value longer than max bytes with ErrTooLarge.
func CheckValueSize(val []byte, max int) error {
	if len(val) > max {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(val), max)
	}
	return nil
}

// CheckNamespace accepts an Ephemeral namespace of ASCII letters, digits,
// '-', '_' and '.'; namespaces name a kind of value and appear in Redis keys.
func CheckNamespace(ns string) error {
	if ns == "" {
		return errors.New("sessions: empty namespace")
	}
	for _, r := range ns {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("sessions: namespace %q has a character other than letters, digits, '-', '_' and '.'", ns)
		}
	}
	return nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
