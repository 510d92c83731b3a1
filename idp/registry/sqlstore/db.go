package sqlstore

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Drivers accepted by Open, as the config key registry.driver names them.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// DB is the registry on one SQL database. It is safe for concurrent use.
type DB struct {
	db      *sql.DB // every write; on SQLite the single writer connection
	rdb     *sql.DB // reads: SQLite's reader pool beside the writer, or db
	dialect string  // DriverSQLite or DriverPostgres
	now     func() time.Time
	log     *slog.Logger
	obs     BatchObserver

	connectTimeout time.Duration
	writeTimeout   time.Duration
	maxConns       int
	maxIdleConns   int
	readers        int

	w                     *groupWriter
	stmtInsert, stmtLogin *sql.Stmt          // SQLite's group commit statements on database/sql, without sw
	sw                    *sqliteWriter      // SQLite's group commit compiled on a connection of its own (sqlite_writer.go), for a file
	tip                   chainTip           // the chain's head as the group commit's writer last saw it (its goroutine only; SQLite: as it last committed it)
	cpKey                 ed25519.PrivateKey // signs audit checkpoints (checkpoint.go); nil: unsigned anchors, no checkpoints
	lookup                *sqliteLookup      // SQLite's login lookup kept compiled (lookup_sqlite.go), for a file with readers
}

// Defaults of the connection pools.
const (
	DefaultMaxConns      = 16 // PostgreSQL
	DefaultSQLiteReaders = 4
)

// WithPool sets PostgreSQL's pool: at most open connections, of which up to
// idle stay open when unused (default DefaultMaxConns each: a pool that
// keeps fewer idle than it opens under load closes and reopens connections,
// paying a connection set-up and statement preparation each time).
func WithPool(open, idle int) Option {
	return func(d *DB) { d.maxConns, d.maxIdleConns = open, idle }
}

// WithSQLiteReaders sets the size of SQLite's reader pool beside its single
// writer (default DefaultSQLiteReaders), and as many connections again for
// the login lookup (lookup_sqlite.go); 0 reads on the writer.
func WithSQLiteReaders(n int) Option { return func(d *DB) { d.readers = n } }

// Option configures Open.
type Option func(*DB)

// WithNow sets the clock used for registered_at, imported_at, audit times
// and the like. The default is time.Now.
func WithNow(now func() time.Time) Option { return func(d *DB) { d.now = now } }

// WithConnectTimeout bounds each new PostgreSQL connection, unless the DSN
// sets connect_timeout itself. The default is pgx's: none.
func WithConnectTimeout(t time.Duration) Option { return func(d *DB) { d.connectTimeout = t } }

// WithLogger sets the logger that reports applied migrations. The default
// discards.
func WithLogger(l *slog.Logger) Option { return func(d *DB) { d.log = l } }

// Open connects to the database, brings its schema up to date, starts the
// group commit and returns the registry. driver is "sqlite" (dsn: a file
// path or a "file:" URI; cnsgate adds busy_timeout, WAL, synchronous=NORMAL
// and foreign_keys pragmas, writes on a single connection and reads on a
// pool of query-only ones) or "postgres" (dsn: a libpq URL or key=value
// string; a search_path parameter selects the schema).
func Open(ctx context.Context, driver, dsn string, opts ...Option) (*DB, error) {
	d := &DB{dialect: driver, now: time.Now, log: slog.New(slog.DiscardHandler), writeTimeout: DefaultWriteTimeout,
		maxConns: DefaultMaxConns, readers: DefaultSQLiteReaders}
	for _, o := range opts {
		o(d)
	}
	if d.maxIdleConns <= 0 || d.maxIdleConns > d.maxConns {
		d.maxIdleConns = d.maxConns
	}
	var err error
	switch driver {
	case DriverSQLite:
		err = d.openSQLite(dsn)
	case DriverPostgres:
		err = d.openPostgres(dsn)
	default:
		return nil, fmt.Errorf("registry: unknown driver %q (want %q or %q)", driver, DriverSQLite, DriverPostgres)
	}
	if err != nil {
		return nil, err
	}
	if err := d.migrate(ctx); err != nil {
		d.closeDBs()
		return nil, err
	}
	if driver == DriverSQLite {
		if d.sw, err = openSQLiteWriter(dsn, d.writeTimeout); err != nil {
			d.closeDBs()
			return nil, err
		}
		if err := d.prepareSQLite(ctx); err != nil {
			d.closeDBs()
			return nil, err
		}
		if d.rdb != d.db {
			if d.lookup, err = openSQLiteLookup(dsn, loginLookup, d.readers); err != nil {
				d.closeDBs()
				return nil, err
			}
		}
	}
	d.w = newGroupWriter(d, DefaultWriteQueue, DefaultMaxBatch)
	return d, nil
}

// openSQLite opens the writer and, for a database in a file, the reader
// pool: SQLite in WAL mode lets readers run beside its one writer.
func (d *DB) openSQLite(dsn string) error {
	db, err := sql.Open("sqlite", sqliteDSN(dsn, d.writeTimeout))
	if err != nil {
		return fmt.Errorf("registry: open sqlite: %w", err)
	}
	// One writer connection: SQLite has one writer, and the group commit
	// beats SQLITE_BUSY. Keep it open for the life of the process.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	d.db, d.rdb = db, db
	if d.readers <= 0 || inMemorySQLite(dsn) {
		return nil // a memory database is one connection's own
	}
	rdb, err := sql.Open("sqlite", sqliteReaderDSN(dsn))
	if err != nil {
		db.Close()
		return fmt.Errorf("registry: open sqlite readers: %w", err)
	}
	rdb.SetMaxOpenConns(d.readers)
	rdb.SetMaxIdleConns(d.readers)
	rdb.SetConnMaxLifetime(0)
	d.rdb = rdb
	return nil
}

func (d *DB) openPostgres(dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("registry: postgres dsn: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = d.connectTimeout
	}
	// pgx's default mode prepares each statement once per connection and
	// reuses it: with every connection kept, a login's queries are all
	// prepared after warm-up.
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(d.maxConns)
	db.SetMaxIdleConns(d.maxIdleConns)
	db.SetConnMaxIdleTime(30 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	d.db, d.rdb = db, db
	return nil
}

// inMemorySQLite reports whether dsn names a memory database.
func inMemorySQLite(dsn string) bool {
	path, query, _ := strings.Cut(dsn, "?")
	return path == ":memory:" || path == "file::memory:" || path == "" || strings.Contains(query, "mode=memory")
}

// sqliteDSN adds cnsgate's settings to a SQLite DSN, except those the DSN
// sets itself: busy_timeout (busy, the write timeout: the group commit
// bounds its batches by it; 5 s when unset), WAL journal, synchronous=NORMAL
// (in WAL mode a commit survives the process being killed; only a power
// loss may take the last ones, and never corrupts the file), foreign keys,
// and IMMEDIATE transactions (every transaction here writes; taking the
// lock up front avoids SQLITE_BUSY on upgrade).
func sqliteDSN(dsn string, busy time.Duration) string {
	ms := busy.Milliseconds()
	if ms <= 0 {
		ms = DefaultWriteTimeout.Milliseconds()
	}
	return sqliteWithPragmas(dsn, []string{"busy_timeout(" + strconv.FormatInt(ms, 10) + ")", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)"}, true)
}

// sqliteReaderDSN is the DSN of the reader pool: query-only connections.
func sqliteReaderDSN(dsn string) string {
	return sqliteWithPragmas(dsn, []string{"busy_timeout(5000)", "query_only(1)", "foreign_keys(1)"}, false)
}

func sqliteWithPragmas(dsn string, pragmas []string, writer bool) string {
	path, query, _ := strings.Cut(dsn, "?")
	user, _ := url.ParseQuery(query)
	has := func(pragma string) bool {
		for _, p := range user["_pragma"] {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), pragma) {
				return true
			}
		}
		return false
	}
	var ours []string
	for _, p := range pragmas {
		if name, _, _ := strings.Cut(p, "("); !has(strings.ToLower(name)) {
			ours = append(ours, "_pragma="+p)
		}
	}
	if writer && user.Get("_txlock") == "" {
		ours = append(ours, "_txlock=immediate")
	}
	if query != "" {
		ours = append(ours, query)
	}
	return path + "?" + strings.Join(ours, "&")
}

// Close commits the audit writes already queued, then closes the database.
func (d *DB) Close() error {
	if d.w != nil {
		d.w.close()
	}
	for _, st := range []*sql.Stmt{d.stmtInsert, d.stmtLogin} {
		if st != nil {
			st.Close()
		}
	}
	if d.lookup != nil {
		d.lookup.close()
	}
	return d.closeDBs()
}

func (d *DB) closeDBs() error {
	if d.sw != nil {
		d.sw.close()
		d.sw = nil
	}
	if d.rdb != d.db {
		d.rdb.Close()
	}
	return d.db.Close()
}

// Ping reports whether the database answers a query, for readiness probes.
func (d *DB) Ping(ctx context.Context) error {
	var one int64
	if err := d.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("registry: ping: %w", err)
	}
	return nil
}

// q rewrites the ? placeholders of query for the dialect. Queries in this
// package hold no ? inside literals.
func (d *DB) q(query string) string {
	if d.dialect != DriverPostgres {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// sqliteTime is the fixed-width layout of times on SQLite.
const sqliteTime = "2006-01-02T15:04:05.000000Z07:00"

// ts converts t to the value stored for the dialect.
func (d *DB) ts(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if d.dialect == DriverSQLite {
		return t.Format(sqliteTime)
	}
	return t
}

// dbTime scans a time column of either dialect; NULL gives the zero time.
type dbTime struct{ t *time.Time }

func (s dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
	case time.Time:
		*s.t = v.UTC()
	case string:
		return s.parse(v)
	case []byte:
		return s.parse(string(v))
	default:
		return fmt.Errorf("registry: cannot scan %T as a time", src)
	}
	return nil
}

func (s dbTime) parse(v string) error {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("registry: bad stored time %q: %w", v, err)
	}
	*s.t = t.UTC()
	return nil
}

// limitOffset renders LIMIT/OFFSET for the dialect; limit <= 0 means none.
func (d *DB) limitOffset(limit, offset int) string {
	var s string
	switch {
	case limit > 0:
		s = " LIMIT " + strconv.Itoa(limit)
	case offset > 0 && d.dialect == DriverSQLite:
		s = " LIMIT -1" // SQLite has no OFFSET without LIMIT
	}
	if offset > 0 {
		s += " OFFSET " + strconv.Itoa(offset)
	}
	return s
}

// errRetry asks inTx to run the transaction again: a concurrent writer won a
// race the transaction had looked at.
var errRetry = errors.New("registry: concurrent update, retry")

// inTx runs fn in a transaction, committed if fn returns nil. When fn fails
// on a race with another writer (a unique violation, a serialisation
// failure or errRetry) the whole transaction runs again, a bounded number of
// times.
func (d *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	const attempts = 25
	var err error
	for range attempts {
		err = d.tryTx(ctx, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("registry: gave up after %d attempts: %w", attempts, err)
}

func (d *DB) tryTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// retryable reports whether err comes from a lost race with a concurrent
// writer.
func retryable(err error) bool {
	if errors.Is(err, errRetry) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505", "40001", "40P01": // unique_violation, serialization_failure, deadlock_detected
			return true
		}
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}

// execAffecting runs a statement that must change at least one row: it
// returns how many it changed, or none (the sentinel) when it changed none.
// what names the operation in errors.
func (d *DB) execAffecting(ctx context.Context, what string, none error, query string, args ...any) (int64, error) {
	res, err := d.db.ExecContext(ctx, d.q(query), args...)
	if err != nil {
		return 0, fmt.Errorf("registry: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("registry: %s: %w", what, err)
	}
	if n == 0 {
		return 0, none
	}
	return n, nil
}
