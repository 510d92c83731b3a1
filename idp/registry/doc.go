// Package registry is cnsgate's SQL store: the bindings of smart cards to
// fiscal codes (registrations), the operators and their roles, the eligible
// citizens of allowlist mode, and the audit trail. It owns those tables and
// the versioned migrations that create them, on SQLite (modernc.org/sqlite,
// the embedded default) and PostgreSQL (pgx).
//
// It knows nothing of HTTP, sessions or certificates: callers hand it fiscal
// codes, fingerprints and names already read from a validated card, and
// decide by configuration what to do with its answers (for instance whether
// registration needs IsEligible). Errors a caller acts upon are sentinels
// (ErrNotRegistered, ErrReplaced, ErrRevoked, ErrNotFound), wrapped with %w.
//
// # Schema
//
// Migrations are SQL files embedded in the binary, one directory per dialect
// (migrations/sqlite, migrations/postgres), named NNNN_title.sql. Open
// applies those not yet recorded in schema_migrations, each in its own
// transaction; PostgreSQL replicas starting together serialise on an
// advisory lock. A database whose schema is newer than the binary is refused,
// so an old replica never writes to a schema it does not understand.
//
// # Time
//
// Every time is stored in UTC, truncated to the microsecond so that both
// dialects keep the same value: PostgreSQL as timestamptz, SQLite as
// fixed-width RFC 3339 text ("2006-01-02T15:04:05.000000Z"), which sorts in
// time order. The clock is injected with WithNow.
//
// # Personal data
//
// Fiscal codes are stored in full (investigators search the audit trail by
// them; the database is access-controlled), but every type that carries one
// implements slog.LogValuer and logs it masked.
//
// # Tests
//
// One conformance suite runs every case against SQLite and a real
// PostgreSQL, each case on a database of its own; registrytest hands out
// those databases to this package's tests and to other packages'.
package registry
