package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

// TestAuditVerifyFindsTampering runs serve with a checkpoint key (made by
// openssl, as the README says), writes audit events through it over the
// network (refused card logins), lets it sign a checkpoint, and runs
// `cnsgate audit verify`: OK on the intact trail; then, with the database
// edited around cnsgate (one event changed, one deleted, one inserted),
// exit 1 and each problem with its position, on SQLite and PostgreSQL.
func TestAuditVerifyFindsTampering(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is needed for the checkpoint key: apt-get install openssl (scripts/test-setup.sh)")
	}
	for _, driver := range []string{sqlstore.DriverSQLite, sqlstore.DriverPostgres} {
		t.Run(driver, func(t *testing.T) { auditVerifyCase(t, openssl, driver) })
	}
}

func auditVerifyCase(t *testing.T, openssl, driver string) {
	key := filepath.Join(t.TempDir(), "checkpoint.key")
	if out, err := exec.Command(openssl, "genpkey", "-algorithm", "ed25519", "-out", key).CombinedOutput(); err != nil {
		t.Fatalf("openssl genpkey: %v\n%s", err, out)
	}
	dsn := ""
	if driver == sqlstore.DriverPostgres {
		dsn = registrytest.PostgresDSN(t)
	}
	s := startServer(t, func(yml string) string {
		if dsn != "" {
			i, j := strings.Index(yml, "registry:\n"), strings.Index(yml, "log:\n")
			if i < 0 || j < i {
				t.Fatalf("the demo configuration changed shape; edit this test:\n%s", yml)
			}
			yml = yml[:i] + fmt.Sprintf("registry:\n  driver: postgres\n  dsn: %q\n  timeout: 10s\n", dsn) + yml[j:]
		}
		return yml + fmt.Sprintf("audit:\n  checkpoint_key_file: %s\n  checkpoint_interval: 200ms\n", key)
	})
	if dsn == "" {
		dsn = s.cfg.Registry.DSN.Value()
	}
	for _, name := range []string{"revoked", "expired", "revoked", "expired", "revoked", "expired"} {
		if code, _ := loginPage(t, s.client(t, loadCard(t, cardByName(t, s.setup, name)), nil), s.b.CNS); code != http.StatusForbidden {
			t.Fatalf("%s card: %d, want 403", name, code)
		}
	}
	r := waitCheckpoint(t, s.setup.ConfigFile, 6)
	t.Logf("%s: intact trail: %d events up to seq %d, %d checkpoint(s)", driver, r.Events, r.Head, r.Checkpoints)

	db := openRaw(t, driver, dsn)
	q := func(query string) string {
		if driver == sqlstore.DriverPostgres {
			for n := 1; strings.Contains(query, "?"); n++ {
				query = strings.Replace(query, "?", fmt.Sprintf("$%d", n), 1)
			}
		}
		return query
	}
	changed, deleted := r.Head-3, r.Head-1
	var changedID int64
	if err := db.QueryRow(q("SELECT id FROM audit_events WHERE seq = ?"), changed).Scan(&changedID); err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		query string
		args  []any
	}{
		{"UPDATE audit_events SET reason = 'not_registered' WHERE seq = ?", []any{changed}},
		{"DELETE FROM audit_events WHERE seq = ?", []any{deleted}},
		{"INSERT INTO audit_events (at, kind, outcome, fiscal_code) SELECT at, kind, 'success', fiscal_code FROM audit_events WHERE seq = ?", []any{r.Head}},
	} {
		if _, err := db.Exec(q(st.query), st.args...); err != nil {
			t.Fatalf("%s: %v", st.query, err)
		}
	}
	code, out, errOut := auditCLI("audit", "verify", "--config", s.setup.ConfigFile)
	t.Logf("%s: cnsgate audit verify after tampering (exit %d):\n%s", driver, code, out)
	want := []string{
		fmt.Sprintf(`(?m)^changed at seq %d \(id %d\): its content does not match its hash$`, changed, changedID),
		fmt.Sprintf(`(?m)^removed at seq %d: 1 event\(s\) missing before id \d+$`, deleted),
		`(?m)^inserted with no position \(id \d+\): an event with no place in the chain`,
		`(?m)^3 problem\(s\): `,
	}
	for _, w := range want {
		if !regexp.MustCompile(w).MatchString(out) {
			t.Errorf("verify output lacks %s", w)
		}
	}
	if code != 1 {
		t.Errorf("verify after tampering: exit %d, want 1 (%s)", code, errOut)
	}
}

// auditCLI runs the cnsgate command line in-process.
func auditCLI(args ...string) (int, string, string) {
	var out, errb strings.Builder
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// waitCheckpoint runs `cnsgate audit verify --json` until the trail holds
// at least n events and a signed checkpoint covers its head, and wants it
// OK.
func waitCheckpoint(t *testing.T, cfgFile string, n int) sqlstore.AuditReport {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, out, errOut := auditCLI("audit", "verify", "--config", cfgFile, "--json")
		var r sqlstore.AuditReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("audit verify --json: exit %d, %v\n%s%s", code, err, out, errOut)
		}
		if code != 0 || !r.OK() {
			t.Fatalf("audit verify on the intact trail: exit %d\n%s%s", code, out, errOut)
		}
		if r.Events >= n && r.Checkpoints > 0 && checkpointed(t, cfgFile, r.Head) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of %d events within 10s: %s", n, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkpointed says whether the human-readable report names the head as
// checked: it re-runs verify without --json, the way an operator would.
func checkpointed(t *testing.T, cfgFile string, head int64) bool {
	t.Helper()
	code, out, _ := auditCLI("audit", "verify", "--config", cfgFile)
	return code == 0 && strings.HasPrefix(out, "OK: ") && strings.Contains(out, fmt.Sprintf("to %d)", head)) &&
		strings.Contains(out, "checkpoint signatures checked")
}

// openRaw opens the registry's database directly, as someone with write
// access to it would.
func openRaw(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	name := "sqlite"
	if driver == sqlstore.DriverPostgres {
		name = "pgx"
	}
	db, err := sql.Open(name, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
