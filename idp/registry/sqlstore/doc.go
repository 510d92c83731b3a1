// Package sqlstore is cnsgate's SQL registry: it stores the types of
// idp/registry (registrations, operators, the eligible citizens of allowlist
// mode, the audit trail) on SQLite (modernc.org/sqlite, the embedded
// default) or PostgreSQL (pgx), and owns the tables and the versioned
// migrations that create them. DB implements what idp consumes of a
// registry (idp.Registry, idp.Auditor) and metrics.AuditPurger, checked at
// compile time in interfaces_test.go so that the store never imports its
// consumers.
//
// It knows nothing of HTTP or sessions: callers hand it fiscal codes,
// fingerprints and names already read from a validated card, and decide by
// configuration what to do with its answers (for instance whether
// registration needs IsEligible). It normalises and validates every fiscal
// code it is given with x509cns, the one place that knows their rules.
// Errors a caller acts upon are the sentinels of idp/registry
// (ErrNotRegistered, ErrReplaced, ErrRevoked, ErrNotFound, ErrDuplicate),
// wrapped with %w.
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
// # Writes and reads
//
// Audit events and last-login times go through a group commit
// (groupcommit.go): one goroutine writes whatever concurrent requests have
// queued in one transaction, and each request returns once its write is
// committed, so none is lost if the process dies after answering, and no
// request waits for another's commit in turn. Before it commits, the
// writer yields its core while yields bring more writes, so that batches
// gather on a server with one core too. A full queue makes callers wait
// (backpressure), never drops. SQLite runs in WAL mode with
// synchronous=NORMAL, its writer connection beside a pool of query-only
// readers; for a database in a file the group commit writes on a
// connection of its own with its statements compiled once, which SQLite's
// write lock and busy timeout serialise with the other writes;
// PostgreSQL takes a batch in one statement.
//
// # Audit chain
//
// The audit trail is tamper-evident (auditchain.go): each event is linked
// to the one before it by a SHA-256 hash chain, in the order of commits,
// and checkpoints signed with an Ed25519 key pin the chain's head at an
// interval, so that VerifyAudit finds events changed, removed or inserted
// since, even when the hashes after them were recomputed. Retention deletes
// a prefix of the chain and leaves an anchor where it starts again.
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
// them; the database is access-controlled); the types of idp/registry log
// them masked.
//
// # Tests
//
// One conformance suite runs every case against SQLite and a real
// PostgreSQL, each case on a database of its own; idp/registry/registrytest
// hands out those databases to this package's tests and to other packages'.
//
// # Files
//
//	doc.go                  this map
//	db.go                   Open, drivers and pools (SQLite: one writer, query-only readers), dialect helpers, transactions with retry
//	groupcommit.go          the group commit: audit events and last-login updates of concurrent requests in one transaction
//	groupcommit_sqlite.go   a SQLite batch in one IMMEDIATE transaction: the chain head moved conditionally, inserts, last logins
//	sqlite_writer.go        SQLite: the group commit's statements kept compiled on a writer connection of its own
//	groupcommit_pg.go       a PostgreSQL batch as one statement (one round trip)
//	migrate.go              embedded migrations, schema version, PostgreSQL advisory lock
//	migrations/             the SQL files, one directory per dialect
//	registrations.go        Register, Authorize, RecordLogin, Get
//	registrations_admin.go  List, Revoke (cnsgate registrations list|revoke)
//	operators.go            operators and their roles; AuthorizeLogin, a login's one lookup
//	sqlite_raw.go           SQLite connections opened without database/sql (modernc.org/sqlite compiles a statement at every execution): open with pragmas, prepare once, errors
//	lookup_sqlite.go        SQLite: the login lookup kept compiled on connections of its own
//	consents.go             the citizen's consent: recorded by Register, Consents, WithdrawConsent; RemoveCard ("La mia tessera")
//	releases.go             the citizen's agreements to release data to a relying party (ReleaseAgreed, AgreeRelease)
//	operators_admin.go      AddOperator, UpdateOperator, RemoveOperator, ImportOperators: each act audited with its actor, in one transaction
//	operators_csv.go        ParseOperatorsCSV, the file cnsgate operators import reads
//	eligible.go             the allowlist: ImportEligible, IsEligible, CountEligible
//	csv.go                  ParseEligibleCSV, the allowlist file cnsgate registrations import reads
//	audit.go                AppendAudit, QueryAudit, RecentAccesses, PurgeAudit (retention, leaving the chain's anchor)
//	auditreport.go          CountAudit, MaxAuditID, AggregateAudit: pagination and per-day aggregates of the admin API and the console
//	auditchain.go           the audit chain: each event's position, previous hash and hash, linked under the head's lock
//	auditverify.go          VerifyAudit: events changed, removed or inserted, with their positions
//	checkpoint.go           signed checkpoints (Ed25519) of the chain's head, LoadCheckpointKey
//	interfaces_test.go      compile-time checks of the interfaces DB implements
//	groupcommit_bench_test.go  BenchmarkGroupCommit: one batch's CPU per write, by dialect and batch size
package sqlstore
