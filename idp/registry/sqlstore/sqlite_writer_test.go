package sqlstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
)

// TestSQLiteWriterBesideDatabaseSQL: the group commit's compiled writer
// and database/sql's writer connection (operator changes, retention) write
// the same file at once, with a second DB on it standing for another
// process; SQLite's write lock serialises them, the chain's head moves in
// commit order, and nothing is lost.
func TestSQLiteWriterBesideDatabaseSQL(t *testing.T) {
	dsn := registrytest.SQLiteDSN(t)
	clk := newClock()
	d, err := Open(ctx, DriverSQLite, dsn, WithNow(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.sw == nil || d.stmtInsert != nil {
		t.Fatal("a database in a file has no compiled writer")
	}
	other, err := Open(ctx, DriverSQLite, dsn, WithNow(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	reg, _, err := d.Register(ctx, card(mario, "m1"))
	if err != nil {
		t.Fatal(err)
	}
	// Old events, retention's prefix to delete while the others write.
	const old = 5
	for i := range old {
		if err := d.AppendAudit(ctx, registry.Event{At: clk.Now().Add(-2 * time.Hour), Kind: registry.KindLogout,
			Outcome: registry.OutcomeSuccess, RequestID: fmt.Sprint("old", i)}); err != nil {
			t.Fatal(err)
		}
	}
	const writers, each, operatorActs = 8, 25, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each+2*operatorActs+each+1)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ev := registry.Event{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, FiscalCode: mario,
					RequestID: fmt.Sprintf("g%d-%d", g, i), Detail: json.RawMessage(`{"n":1}`)}
				if i%2 == 0 {
					ev.CardFingerprint = reg.Fingerprint
				}
				errs <- d.AppendAudit(ctx, ev)
			}
		}()
	}
	wg.Add(3)
	go func() { // database/sql's writer: each act audited in its transaction
		defer wg.Done()
		for range operatorActs {
			errs <- d.AddOperator(ctx, registry.Operator{FiscalCode: laura, Roles: []string{"operatore_asl"}}, "test")
			errs <- d.RemoveOperator(ctx, laura, "test")
		}
	}()
	go func() { // another process
		defer wg.Done()
		for i := range each {
			errs <- other.AppendAudit(ctx, registry.Event{Kind: registry.KindTokenIssued, Outcome: registry.OutcomeSuccess, RequestID: fmt.Sprint("o", i)})
		}
	}()
	go func() {
		defer wg.Done()
		n, err := d.PurgeAudit(ctx, clk.Now().Add(-time.Hour))
		if err == nil && n != old {
			err = fmt.Errorf("retention deleted %d events, want the %d old ones", n, old)
		}
		errs <- err
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := d.VerifyAudit(ctx, nil)
	if err != nil || !r.OK() {
		t.Fatalf("the chain does not verify: %+v, %v", r, err)
	}
	if want := writers*each + each + 2*operatorActs; r.Events != want {
		t.Fatalf("%d events in the chain, want %d", r.Events, want)
	}
	got, err := d.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindLogin})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != writers*each || got[0].FiscalCode != mario || string(got[0].Detail) != `{"n":1}` || got[0].Reason != "" {
		t.Fatalf("%d login events, first %+v", len(got), got[0])
	}
	if g, err := d.Get(ctx, mario); err != nil || !g.LastLoginAt.Equal(us(clk.Now())) {
		t.Fatalf("last login %v (%v), want %v", g.LastLoginAt, err, us(clk.Now()))
	}
}

// TestSQLiteWriterWaitsBusyTimeout: while another connection holds the
// write lock past the write timeout, a batch fails with SQLite's busy
// error after that timeout, having written nothing; once the lock is free,
// the next batch links after the head.
func TestSQLiteWriterWaitsBusyTimeout(t *testing.T) {
	dsn := registrytest.SQLiteDSN(t)
	d, err := Open(ctx, DriverSQLite, dsn, WithWriteTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	release := holdWriteLock(t, DriverSQLite, dsn)
	start := time.Now()
	err = d.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess, Reason: "refused"})
	waited := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("AppendAudit while another holds the write lock = %v, want SQLite's busy error", err)
	}
	if waited < 150*time.Millisecond || waited > 5*time.Second {
		t.Errorf("the batch failed after %v, want about the write timeout (200ms)", waited)
	}
	release()
	if err := d.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess, RequestID: "after"}); err != nil {
		t.Fatal(err)
	}
	r, err := d.VerifyAudit(ctx, nil)
	if err != nil || !r.OK() || r.Events != 2 || r.Head != 2 {
		t.Fatalf("after the lock: %+v, %v; want 2 events verified", r, err)
	}
	if got, _ := d.QueryAudit(ctx, registry.AuditQuery{Reason: "refused"}); len(got) != 0 {
		t.Fatalf("the refused write was stored: %+v", got)
	}
}

// TestSQLiteMemoryGroupCommit: a memory database, which only database/sql's
// connection reaches, runs its batches there.
func TestSQLiteMemoryGroupCommit(t *testing.T) {
	d, err := Open(ctx, DriverSQLite, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.sw != nil || d.stmtInsert == nil {
		t.Fatal("a memory database got a writer of its own")
	}
	reg, _, err := d.Register(ctx, card(mario, "m1"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := registry.Event{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, FiscalCode: mario}
			if i%2 == 0 {
				ev.CardFingerprint = reg.Fingerprint
			}
			if err := d.AppendAudit(ctx, ev); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := d.AddOperator(ctx, registry.Operator{FiscalCode: laura, Roles: []string{"operatore_asl"}}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := d.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	if r, err := d.VerifyAudit(ctx, nil); err != nil || !r.OK() || r.Events != 22 {
		t.Fatalf("%+v, %v; want 22 events verified", r, err)
	}
}

// TestSQLiteWriterRollsBack: a statement refused inside a batch (here by a
// trigger another connection creates, which also makes the writer's
// compiled statements compile again) rolls the batch back: the head it had
// moved is forgotten and the next batch links after the head committed.
func TestSQLiteWriterRollsBack(t *testing.T) {
	dsn := registrytest.SQLiteDSN(t)
	d, err := Open(ctx, DriverSQLite, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for range 3 {
		if err := d.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.db.ExecContext(ctx, `CREATE TRIGGER refuse BEFORE INSERT ON audit_events WHEN NEW.reason = 'refuse'
		BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	err = d.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess, Reason: "refuse"})
	if err == nil || !strings.Contains(err.Error(), "refused by the test") {
		t.Fatalf("AppendAudit refused by the trigger = %v", err)
	}
	if d.tip.known {
		t.Error("the writer kept the head of a batch rolled back")
	}
	if err := d.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	if r, err := d.VerifyAudit(ctx, nil); err != nil || !r.OK() || r.Events != 4 || r.Head != 4 {
		t.Fatalf("%+v, %v; want 4 events verified, head 4", r, err)
	}
	if !d.tip.known || d.tip.seq != 4 {
		t.Fatalf("the writer's head is %+v, want seq 4 known", d.tip)
	}
}
