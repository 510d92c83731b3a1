package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

// TestAuditSurvivesKillAfterBurst runs a real `cnsgate serve` process,
// drives a burst of concurrent card logins at it, stalls the database's
// writes for a moment and kills the server with SIGKILL meanwhile, with
// logins in flight and their audit writes waiting. Every login answered 200 (the welcome page with the
// citizen's fiscal code) must have its audit row, found by the request id
// of its /cns/complete, in the database the killed process leaves behind:
// SQLite (WAL, synchronous=NORMAL) and PostgreSQL.
func TestAuditSurvivesKillAfterBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("a serve process killed after a burst of logins: not in -short")
	}
	bin := buildCnsgate(t)
	for _, driver := range []string{sqlstore.DriverSQLite, sqlstore.DriverPostgres} {
		t.Run(driver, func(t *testing.T) { auditKillCase(t, bin, driver) })
	}
}

func auditKillCase(t *testing.T, bin, driver string) {
	dir := t.TempDir()
	ports := demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t)}
	setup, err := demo.Prepare(filepath.Join(dir, "demo"), ports, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dsn := filepath.Join(setup.Dir, "cnsgate.db")
	if driver == sqlstore.DriverPostgres {
		dsn = registrytest.PostgresDSN(t)
	}
	r := &replica{name: "cnsgate-" + driver, addrs: replicaAddrs{public: ports.Public, cns: ports.CNS, admin: ports.Admin},
		config: setup.ConfigFile, log: filepath.Join(dir, "serve.log")}
	cfg := killTestConfig(t, setup, driver, dsn)
	card, _ := setup.Card("citizen")
	registerCardDriver(t, cfg, driver, dsn, card)
	r.start(t, bin)
	defer func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			<-r.exit
		}
	}()

	// The burst: 16 browsers log in without pause. Once 150 logins have
	// been answered the test stalls the database's audit writes (a disk or
	// a database that is slow right then: a write lock held from outside),
	// lets the burst run on against it for a moment, and kills the server
	// with SIGKILL while the writes wait, before it releases the lock. A
	// login answered before its audit row was durable would be lost here.
	const browsers, target = 16, 150
	pair := loadCard(t, card)
	var answered, duringStall atomic.Int64
	var mu sync.Mutex
	var ids, failures []string
	var stalled, killed atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := citizenTransport(t, setup.TLSCAFile, pair)
			defer tr.CloseIdleConnections()
			for !killed.Load() {
				id, err := loginRequestID(tr, cfg.Issuer, card.FiscalCode)
				mu.Lock()
				switch {
				case err != nil && !killed.Load():
					failures = append(failures, err.Error())
				case err == nil:
					ids = append(ids, id)
					if stalled.Load() {
						duringStall.Add(1)
					}
				}
				mu.Unlock()
				if err == nil && answered.Add(1) == target {
					close(stop)
				}
			}
		}()
	}
	select {
	case <-stop:
	case <-time.After(2 * time.Minute):
		killed.Store(true)
		r.cmd.Process.Kill()
		wg.Wait()
		t.Fatalf("only %d logins answered in 2 minutes (failures: %v)\n%s", answered.Load(), failures[:min(len(failures), 5)], r.logTail())
	}
	checkBatchMetrics(t, r.addrs.admin, answered.Load())
	release := stallAuditWrites(t, driver, dsn)
	stalled.Store(true)
	time.Sleep(500 * time.Millisecond)
	killed.Store(true)
	if err := r.cmd.Process.Kill(); err != nil {
		t.Errorf("SIGKILL: %v", err)
	}
	<-r.exit
	release()
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d logins failed before the kill: %v\n%s", len(failures), failures[:min(len(failures), 5)], r.logTail())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) < target {
		t.Fatalf("only %d logins answered before the kill: the test proves nothing", len(ids))
	}

	// The database as the killed process left it.
	db, err := sqlstore.Open(context.Background(), driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, e := range rows {
		stored[e.RequestID] = true
	}
	var lost []string
	for _, id := range ids {
		if !stored[id] {
			lost = append(lost, id)
		}
	}
	t.Logf("%s: %d logins answered 200 before SIGKILL (%d while the audit writes were stalled), %d login rows stored (the rest were in flight), %d lost",
		driver, len(ids), duringStall.Load(), len(rows), len(lost))
	if len(lost) > 0 {
		t.Fatalf("%d of %d answered logins have no audit row after SIGKILL, e.g. request %s", len(lost), len(ids), lost[0])
	}
	reg, err := db.Get(context.Background(), card.FiscalCode)
	if err != nil || reg.LastLoginAt.IsZero() {
		t.Errorf("last login time not recorded with the logins: %+v, %v", reg, err)
	}
}

// killTestConfig points the demo configuration at the test's registry and
// CA server, lifts the login-start limit for one busy client and returns
// it loaded.
func killTestConfig(t *testing.T, setup *demo.Setup, driver, dsn string) *config.Config {
	t.Helper()
	raw, err := os.ReadFile(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	yml := string(raw)
	reps := []struct{ old, new string }{
		{"shutdown:\n  drain: 0s\n", "shutdown:\n  drain: 0s\nlimits:\n  pending_per_ip_rate: 100000\n  pending_per_ip_burst: 10000\n"},
		{"log:\n  format: text\n", "log:\n  format: text\n  level: warn\n"},
	}
	if driver == sqlstore.DriverPostgres {
		reps = append(reps, struct{ old, new string }{"registry:\n  driver: sqlite\n  dsn: " + filepath.Join(setup.Dir, "cnsgate.db") + "\n",
			fmt.Sprintf("registry:\n  driver: postgres\n  dsn: %q\n  timeout: 10s\n", dsn)})
	}
	for _, r := range reps {
		if !strings.Contains(yml, r.old) {
			t.Fatalf("the demo configuration changed shape (no %q); edit this test:\n%s", r.old, yml)
		}
		yml = strings.Replace(yml, r.old, r.new, 1)
	}
	// serve does not serve the demo CA's CRL and OCSP: the test does.
	yml = strings.ReplaceAll(yml, "http://"+cfg.Listen.Admin+"/demo/", "http://"+serveDemoCA(t, setup)+"/demo/")
	if err := os.WriteFile(setup.ConfigFile, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err = config.Load(setup.ConfigFile); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// loginRequestID is one citizen's card login in a fresh cookie jar, as
// fullLogin, and returns the request id of its /cns/complete: the audit
// row of the login carries it.
func loginRequestID(tr *http.Transport, issuer, fiscalCode string) (string, error) {
	jar, _ := cookiejar.New(nil)
	var id string
	c := &http.Client{Transport: tr, Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if prev := req.Response; prev != nil && prev.Request.URL.Path == "/cns/complete" {
				id = prev.Header.Get("X-Request-Id")
			}
			return nil
		}}
	resp, err := c.Get(issuer + "/cns/start")
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", resp.Request.URL, err)
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" || !strings.Contains(string(body), fiscalCode) {
		return "", fmt.Errorf("ended at %s with %d: %.200s", resp.Request.URL, resp.StatusCode, body)
	}
	if id == "" {
		return "", fmt.Errorf("no X-Request-Id on /cns/complete")
	}
	return id, nil
}

// stallAuditWrites holds, from a connection of its own, a lock that makes
// every audit write wait (SQLite: the database's write lock; PostgreSQL: an
// exclusive lock on audit_events, reads still allowed), until release.
func stallAuditWrites(t *testing.T, driver, dsn string) (release func()) {
	t.Helper()
	// The server writes all the while: wait for its write lock rather than
	// fail on SQLITE_BUSY.
	name, stmts := "sqlite", []string{"PRAGMA busy_timeout = 10000", "BEGIN IMMEDIATE"}
	if driver == sqlstore.DriverPostgres {
		name, stmts = "pgx", []string{"BEGIN", "LOCK TABLE audit_events IN EXCLUSIVE MODE"}
	}
	db, err := sql.Open(name, dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stmts {
		if _, err := conn.ExecContext(context.Background(), st); err != nil {
			t.Fatalf("stalling the audit writes (%s): %v", st, err)
		}
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
}

// checkBatchMetrics reads the running server's group-commit metrics: at
// least one write per answered login went through batches, and the queue
// depth is exported.
func checkBatchMetrics(t *testing.T, admin string, logins int64) {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	values := map[string]float64{}
	for _, line := range strings.Split(string(raw), "\n") {
		var v float64
		if name, val, ok := strings.Cut(line, " "); ok && strings.HasPrefix(name, "cnsgate_audit_") {
			if _, err := fmt.Sscan(val, &v); err == nil {
				values[name] = v
			}
		}
	}
	n, sum := values["cnsgate_audit_batch_size_count"], values["cnsgate_audit_batch_size_sum"]
	if _, ok := values["cnsgate_audit_queue_depth"]; !ok || n == 0 || sum < float64(logins) {
		t.Fatalf("group commit metrics: %v (after %d logins)", values, logins)
	}
	t.Logf("group commit: %.0f writes in %.0f batches (%.1f per batch) for %d logins", sum, n, sum/n, logins)
}
