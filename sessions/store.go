package sessions

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound reports a session or ephemeral value that does not exist, was
// deleted, or was already taken.
var ErrNotFound = errors.New("sessions: not found")

// ErrTooLarge reports an ephemeral value longer than the store accepts
// (MemoryOptions.MaxValueBytes, redisstore.StoreOptions.MaxValueBytes).
var ErrTooLarge = errors.New("sessions: value too large")

// DefaultMaxValueBytes is the default bound on one ephemeral value: far
// above any record cnsgate stores (a handoff holds one session), far below
// what would let a flood of values exhaust the store.
const DefaultMaxValueBytes = 64 << 10

// ErrExpired matches every *ExpiredError with errors.Is.
var ErrExpired = errors.New("sessions: session expired")

// Causes of an expiry; they label the sessions_ended_total metric.
const (
	CauseIdle     = "idle"
	CauseAbsolute = "absolute"
)

// ExpiredError reports a session found past one of its deadlines. The store
// has deleted it.
type ExpiredError struct {
	Cause string // CauseIdle or CauseAbsolute; absolute wins when both passed
	// Session is the record the store removed, for the logout fan-out. It is
	// set only for the one caller whose request removed it, so concurrent
	// callers never notify the relying parties twice.
	Session *Session
}

func (e *ExpiredError) Error() string { return "sessions: session expired (" + e.Cause + ")" }

// Is makes errors.Is(err, ErrExpired) true.
func (e *ExpiredError) Is(target error) bool { return target == ErrExpired }

// Store keeps login sessions. Get, Touch and AddParticipant report a missing
// session with ErrNotFound and one past a deadline with *ExpiredError (after
// deleting it). Methods that take a session id set Session.ID on the records
// they return; every returned record carries IDHash.
type Store interface {
	// Create stores s under a fresh random id, which it returns and also sets
	// in s.ID together with the timestamps (see Session.Start). Any id already
	// in s is ignored: a login never reuses an id.
	Create(ctx context.Context, s *Session, idle, absolute time.Duration) (string, error)
	// Get returns the live session with this id.
	Get(ctx context.Context, id string) (*Session, error)
	// GetByHash returns the live session whose id hashes (HashKey) to
	// idHash, for a holder of the hash only (a token's grant): ID is left
	// empty. One read of the record, never a listing of the citizen's
	// sessions. Errors as Get: ErrNotFound, or *ExpiredError after deleting
	// a session past a deadline (its Session without ID).
	GetByHash(ctx context.Context, idHash string) (*Session, error)
	// Touch records activity: LastSeen becomes now and the idle deadline
	// moves to now+IdleTimeout, never past the absolute deadline.
	Touch(ctx context.Context, id string) error
	// AddParticipant records a relying party. It is idempotent per
	// protocol and client id: the first record is kept.
	AddParticipant(ctx context.Context, id string, p Participant) error
	// Delete removes the session and returns it, participants included,
	// whatever its deadlines; ErrNotFound when there is none.
	Delete(ctx context.Context, id string) (*Session, error)
	// DeleteByHash is Delete for a holder of the id's hash only (an
	// administrator picking one of a citizen's sessions from a listing):
	// the removed record, without ID; ErrNotFound when there is none.
	DeleteByHash(ctx context.Context, idHash string) (*Session, error)
	// ListByFiscalCode returns the citizen's live sessions, oldest first.
	ListByFiscalCode(ctx context.Context, fiscalCode string) ([]*Session, error)
	// DeleteByFiscalCode removes every session of the citizen and returns
	// those that were live.
	DeleteByFiscalCode(ctx context.Context, fiscalCode string) ([]*Session, error)
	// DeleteByCard removes every session opened with the card whose
	// certificate has this SHA-256 fingerprint and returns those that were
	// live; used when a refreshed CRL revokes the card.
	DeleteByCard(ctx context.Context, fingerprint string) ([]*Session, error)
	// Ping reports whether the backend answers (readiness).
	Ping(ctx context.Context) error
}

// Ephemeral keeps short-lived values under a namespace and a key, such as
// pending authorization requests ("authz"), handoff codes ("handoff"), OIDC
// codes ("code") and seen SAML request ids ("samlid"). Keys are stored
// hashed. Get and Take return ErrNotFound for a value absent or past its TTL.
type Ephemeral interface {
	// Put stores val for ttl, replacing any value under the key.
	Put(ctx context.Context, ns, key string, val []byte, ttl time.Duration) error
	// PutNew stores val only when the key holds no live value and reports
	// whether it did: false means the key was seen before (replay).
	PutNew(ctx context.Context, ns, key string, val []byte, ttl time.Duration) (bool, error)
	// Get returns the value and leaves it in place.
	Get(ctx context.Context, ns, key string) ([]byte, error)
	// Take returns the value and deletes it atomically: of two concurrent
	// takers exactly one gets it.
	Take(ctx context.Context, ns, key string) ([]byte, error)
	// Delete removes the value; deleting an absent key is not an error.
	Delete(ctx context.Context, ns, key string) error
	// Swap stores val for ttl, replacing any value, and returns the value
	// it replaced, found false when the key held no live value: of two
	// concurrent swappers exactly one receives what was there before.
	Swap(ctx context.Context, ns, key string, val []byte, ttl time.Duration) (prev []byte, found bool, err error)
}

// Scanner is a Store that can walk every session it holds, for the sweep
// that ends the sessions of cards revoked while cnsgate was down. Found by
// type assertion: a backend without it is not swept at start (the check at
// every use of a session still refuses a revoked card).
type Scanner interface {
	// ScanSessions calls fn with each stored session, in no order and
	// without participants; IDHash is set, ID is not. A session may be
	// passed although past a deadline. It stops at the first error of fn
	// or the backend and returns it.
	ScanSessions(ctx context.Context, fn func(*Session) error) error
}
