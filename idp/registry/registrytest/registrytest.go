package registrytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresDSN is used when CNSGATE_TEST_POSTGRES_DSN is unset.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// SQLiteDSN returns the path of a new SQLite database in t.TempDir().
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "registry.db")
}

// PostgresDSN creates a schema with a random name in the PostgreSQL named by
// CNSGATE_TEST_POSTGRES_DSN (default DefaultPostgresDSN), drops it when the
// test ends, and returns a DSN whose search_path selects it. When the server
// is unreachable the test fails, saying how to get one.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("CNSGATE_TEST_POSTGRES_DSN")
	if base == "" {
		base = DefaultPostgresDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		unreachable(t, base, err)
	}
	defer conn.Close(context.Background())

	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "cnsgate_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("registrytest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("registrytest: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("registrytest: drop schema %s: %v", schema, err)
		}
	})
	dsn, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	return dsn
}

// withSearchPath adds search_path=schema to a URL or key=value DSN; pgx
// sends unknown parameters to the server as run-time settings.
func withSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil
}

func unreachable(t testing.TB, dsn string, err error) {
	t.Helper()
	msg := "registrytest: PostgreSQL unreachable at " + redact(dsn) + ": " + err.Error() +
		"\n  start one with: docker run --rm -d -p 127.0.0.1:5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16" +
		"\n  or point CNSGATE_TEST_POSTGRES_DSN at a server where the user may CREATE SCHEMA" +
		"\n  (`make test` starts a throw-away one)"
	t.Fatal(msg)
}

// redact hides a password in a DSN.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the key=value DSN of CNSGATE_TEST_POSTGRES_DSN"
}
