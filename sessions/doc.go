// Package sessions owns the login session record and the contracts of the
// stores that keep it: Store for sessions, Ephemeral for the short-lived,
// single-use values the login flow passes between requests (pending
// authorization requests, handoff codes, OIDC codes, the SAML request-ID
// replay cache).
//
// It knows nothing of HTTP, cookies or protocols and imports nothing of the
// project. The login flow (idp) and the protocol packages consume Store and
// Ephemeral; Memory and Memory.Ephemeral implement them in process,
// sessions/redisstore on Redis, and sessions/sessionstest holds the
// conformance suite every backend passes.
//
// # Identifiers and keys
//
// A session's ID is a bearer secret: 256 random bits, base64url, made fresh by
// Store.Create at every login. Stores never keep it in clear: they key the
// record by HashKey(ID), the lower-case hex SHA-256, which is also exposed as
// Session.IDHash so that logs and audit events can name a session without
// revealing it. Ephemeral keys (codes, request ids) and the
// fiscal codes of the per-citizen index are hashed the same way.
//
// # Deadlines
//
// Every session has an idle deadline, slid forward by Store.Touch, and an
// absolute deadline that nothing extends. Stores decide expiry with their
// injected clock (the Now option), never with the backend's own timers, which
// only clean up; so a test that advances its clock sees the same behaviour
// from every backend. A session found past a deadline is deleted and reported
// as an *ExpiredError whose Cause is CauseIdle or CauseAbsolute; the caller
// that removed it also receives the record, to tell the relying parties.
//
// # Implementing a Store
//
// NewID, HashKey, Session.Start, Session.Expired, Participant.Validate,
// CheckTTL, CheckNamespace, SortParticipants and SortSessions are the shared
// rules backends build on, so that they agree on ids, hashing, deadlines,
// validation and ordering.
//
// # Files
//
//	doc.go               this map
//	store.go             the Store, Scanner and Ephemeral contracts, ErrNotFound, ErrTooLarge, ErrExpired, ExpiredError
//	session.go           Session and Participant, Clone, the sort orders, the masked LogValue
//	backend.go           the shared rules: NewID, HashKey, Start, Expired, Validate, CheckTTL, CheckNamespace
//	batch.go             Batcher, the optional one-round-trip GetMany and PutMany, and the helpers that fall back to one call each
//	combined.go          Combiner, the optional one-round-trip RunWithSession (ephemeral ops and a session read by hash) and AddParticipantAndPut, and their fallbacks
//	memory.go            Memory: the in-process Store and its indexes, MemoryOptions, ScanSessions
//	memory_ephemeral.go  the in-process Ephemeral (Memory.Ephemeral)
//	memory_cap.go        the per-namespace caps of Memory.Ephemeral: oldest evicted first, Len, Evicted
//	redisstore/          the Redis backend
//	sessionstest/        the conformance suite every backend passes
package sessions
