package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFiles embed.FS

// migration is one embedded SQL file.
type migration struct {
	version int
	name    string // file name, for logs and errors
	sql     string
}

// loadMigrations returns the dialect's migrations in version order. Versions
// are the file names' numeric prefixes and must run 1, 2, 3... without gaps.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("registry: migrations for %s: %w", dialect, err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("registry: migration %s/%s: name must be NNNN_title.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("registry: migration %s/%s: expected version %d", dir, m.name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("registry: no migrations for %s", dialect)
	}
	return ms, nil
}

// SchemaVersion returns the highest migration version recorded in the
// database.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int64
	err := d.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("registry: schema version: %w", err)
	}
	return int(v), nil
}

// migrate brings the schema up to the newest embedded migration, or refuses
// a database whose schema is newer than this binary.
func (d *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(d.dialect)
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version

	// One connection for the whole run: the PostgreSQL advisory lock belongs
	// to the session that took it.
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("registry: connect: %w", err)
	}
	defer conn.Close()

	if d.dialect == DriverPostgres {
		unlock, err := lockMigrations(ctx, conn)
		if err != nil {
			return err
		}
		defer unlock()
	}

	create := "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
	if d.dialect == DriverPostgres {
		create = "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
	}
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("registry: create schema_migrations: %w", err)
	}
	var current int64
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("registry: read schema version: %w", err)
	}
	if int(current) > latest {
		return fmt.Errorf("registry: database schema version %d is newer than this cnsgate (%d): upgrade cnsgate", current, latest)
	}
	for _, m := range ms {
		if m.version <= int(current) {
			continue
		}
		if err := d.apply(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

// apply runs one migration and records it, in one transaction. A migration
// another process recorded meanwhile (SQLite has no advisory lock; its
// transactions begin IMMEDIATE) is skipped.
func (d *DB) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("registry: migration %s: %w", m.name, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var done int64
	if err := tx.QueryRowContext(ctx, d.q("SELECT COUNT(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&done); err != nil {
		return fmt.Errorf("registry: migration %s: %w", m.name, err)
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("registry: migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, d.q("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"), m.version, d.ts(d.now())); err != nil {
		return fmt.Errorf("registry: migration %s: record: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("registry: migration %s: commit: %w", m.name, err)
	}
	d.log.InfoContext(ctx, "registry migration applied", "version", m.version, "file", m.name, "driver", d.dialect)
	return nil
}

// lockMigrations takes a session-level advisory lock, keyed by the current
// schema so that databases holding several cnsgate schemas (tests) do not
// wait for one another, and returns its release.
func lockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	var schema sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("registry: current schema: %w", err)
	}
	if !schema.Valid {
		return nil, fmt.Errorf("registry: no schema: the search_path names no existing schema")
	}
	h := fnv.New64a()
	h.Write([]byte("cnsgate/registry/migrations\x00" + schema.String))
	key := int64(h.Sum64())
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return nil, fmt.Errorf("registry: migration lock: %w", err)
	}
	return func() {
		// If this fails the connection is broken, which releases the lock.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key)
	}, nil
}
