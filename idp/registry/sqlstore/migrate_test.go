package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMigrations(t *testing.T) {
	runSuite(t, []suiteCase{
		{"ok/idempotent-on-reopen", func(t *testing.T, e *env) {
			latest := latestVersion(t, e.b.driver)
			mustRegister(t, e, card(mario, "a"))
			if err := e.db.Close(); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				d, err := e.reopen(t)
				if err != nil {
					t.Fatalf("reopen %d: %v", i, err)
				}
				if v, err := d.SchemaVersion(ctx); err != nil || v != latest {
					t.Errorf("SchemaVersion = %d, %v; want %d", v, err, latest)
				}
				var rows int64
				if err := d.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil || rows != int64(latest) {
					t.Errorf("schema_migrations has %d rows, %v; want %d", rows, err, latest)
				}
				if _, err := d.Authorize(ctx, mario, fp("a")); err != nil {
					t.Errorf("data lost on reopen: %v", err)
				}
				d.Close()
			}
		}},
		{"fail/future-schema-version", func(t *testing.T, e *env) {
			latest := latestVersion(t, e.b.driver)
			if _, err := e.db.db.ExecContext(ctx, e.db.q("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"),
				latest+1, e.db.ts(e.clock.Now())); err != nil {
				t.Fatal(err)
			}
			e.db.Close()
			_, err := e.reopen(t)
			want := fmt.Sprintf("database schema version %d is newer than this cnsgate (%d)", latest+1, latest)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("reopen: %v; want %q", err, want)
			}
		}},
		{"ok/concurrent-open", func(t *testing.T, e *env) {
			// A fresh database opened by several replicas at once.
			e.db.Close()
			fresh := &env{b: e.b, dsn: e.b.dsn(t), clock: e.clock}
			var wg sync.WaitGroup
			errs := make([]error, 5)
			for i := range errs {
				wg.Go(func() {
					d, err := Open(context.Background(), fresh.b.driver, fresh.dsn)
					if err == nil {
						_, _, err = d.Register(ctx, card(mario, "a"))
						d.Close()
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
				}
			}
		}},
		{"ok/ping", func(t *testing.T, e *env) {
			if err := e.db.Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
			e.db.Close()
			if err := e.db.Ping(ctx); err == nil {
				t.Error("Ping on a closed DB succeeded")
			}
		}},
	})
}

func latestVersion(t *testing.T, dialect string) int {
	t.Helper()
	ms, err := loadMigrations(dialect)
	if err != nil {
		t.Fatal(err)
	}
	return ms[len(ms)-1].version
}

func TestMigrationFilesMatch(t *testing.T) {
	lite, err := loadMigrations(DriverSQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations(DriverPostgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("%d sqlite migrations, %d postgres: every version needs both dialects", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].name != pg[i].name {
			t.Errorf("migration %d: sqlite %s, postgres %s", i+1, lite[i].name, pg[i].name)
		}
	}
}

func TestOpenUnknownDriver(t *testing.T) {
	if _, err := Open(ctx, "mysql", "x"); err == nil || !strings.Contains(err.Error(), `unknown driver "mysql"`) {
		t.Errorf("Open(mysql): %v", err)
	}
}

func TestRebind(t *testing.T) {
	pg := &DB{dialect: DriverPostgres}
	if got := pg.q("a = ? AND b IN (?, ?)"); got != "a = $1 AND b IN ($2, $3)" {
		t.Errorf("postgres q = %q", got)
	}
	lite := &DB{dialect: DriverSQLite}
	if got := lite.q("a = ?"); got != "a = ?" {
		t.Errorf("sqlite q = %q", got)
	}
}

func TestSQLiteDSN(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/cnsgate/registry.db":                         "/var/lib/cnsgate/registry.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate",
		"file:reg.db?mode=rwc":                                 "file:reg.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate&mode=rwc",
		"reg.db?_pragma=Journal_Mode(DELETE)&_txlock=deferred": "reg.db?_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=Journal_Mode(DELETE)&_txlock=deferred",
	} {
		if got := sqliteDSN(in, 0); got != want {
			t.Errorf("sqliteDSN(%q) = %q, want %q", in, got, want)
		}
	}
	// The writer waits for the write lock as long as the write timeout.
	if got, want := sqliteDSN("reg.db", 2*time.Second), "reg.db?_pragma=busy_timeout(2000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"; got != want {
		t.Errorf("sqliteDSN(2s) = %q, want %q", got, want)
	}
	// The readers: query-only, no write lock taken up front.
	if got, want := sqliteReaderDSN("file:reg.db?mode=rwc"), "file:reg.db?_pragma=busy_timeout(5000)&_pragma=query_only(1)&_pragma=foreign_keys(1)&mode=rwc"; got != want {
		t.Errorf("sqliteReaderDSN = %q, want %q", got, want)
	}
}
