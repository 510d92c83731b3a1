package registry

import "errors"

// Sentinel errors of the registry, whatever stores it. Stores wrap them with
// %w; callers test them with errors.Is.
var (
	// ErrNotRegistered: no active registration for that card or fiscal code.
	ErrNotRegistered = errors.New("registry: card not registered")
	// ErrReplaced: the card was registered, then replaced by a newer card of
	// the same fiscal code; it no longer logs in.
	ErrReplaced = errors.New("registry: card replaced by a newer card")
	// ErrRevoked: the card's registration was revoked by an administrator.
	ErrRevoked = errors.New("registry: card registration revoked")
	// ErrNotFound: no such operator.
	ErrNotFound = errors.New("registry: not found")
	// ErrDuplicate: a fiscal code listed twice in one allowlist import.
	ErrDuplicate = errors.New("fiscal code listed more than once")
	// ErrInvalidEvent: an audit event no store would take (no kind, an
	// unknown outcome, a detail that is not JSON); writing it again cannot
	// succeed.
	ErrInvalidEvent = errors.New("registry: invalid audit event")
)
