package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
)

// batches records what the group commit reports.
type batches struct {
	mu       sync.Mutex
	sizes    []int
	maxDepth int
}

func (b *batches) AuditQueueDepth(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.maxDepth = max(b.maxDepth, n)
}

func (b *batches) AuditBatch(size int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sizes = append(b.sizes, size)
}

func (b *batches) stats() (n, events, largest int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.sizes {
		events += s
		largest = max(largest, s)
	}
	return len(b.sizes), events, largest
}

func TestGroupCommit(t *testing.T) {
	runSuite(t, []suiteCase{
		{"ok/concurrent-writes-share-batches", func(t *testing.T, e *env) {
			obs := &batches{}
			d, err := Open(ctx, e.b.driver, e.dsn, WithNow(e.clock.Now), WithBatchObserver(obs))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			reg, _, err := d.Register(ctx, card(mario, "m1"))
			if err != nil {
				t.Fatal(err)
			}
			// The first commit waits on a lock held from outside (a slow
			// disk), so the writes queue behind it and must then share
			// commits, however fast the machine.
			release := holdWriteLock(t, e.b.driver, e.dsn)
			time.AfterFunc(300*time.Millisecond, release)
			const writers, each = 32, 20
			var wg sync.WaitGroup
			errs := make(chan error, writers*each)
			for g := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						ev := registry.Event{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, FiscalCode: mario,
							RequestID: fmt.Sprintf("g%d-%d", g, i)}
						if i%2 == 0 {
							ev.CardFingerprint = reg.Fingerprint
						}
						errs <- d.AppendAudit(ctx, ev)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("AppendAudit: %v", err)
				}
			}
			// Every write returned: every one is there, read on the readers.
			got, err := d.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindLogin})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != writers*each {
				t.Fatalf("%d events stored, want %d", len(got), writers*each)
			}
			n, events, largest := obs.stats()
			t.Logf("%d writes in %d batches, largest %d", events, n, largest)
			if events != writers*each || n >= events || largest < 2 {
				t.Errorf("batches %d for %d writes (largest %d): concurrent writes did not share a commit", n, events, largest)
			}
			r, err := d.Get(ctx, mario)
			if err != nil {
				t.Fatal(err)
			}
			if !r.LastLoginAt.Equal(us(e.clock.Now())) {
				t.Errorf("last login %v, want %v (from the events carrying the card)", r.LastLoginAt, us(e.clock.Now()))
			}
		}},
		{"ok/one-refused-write-fails-alone", func(t *testing.T, e *env) {
			if _, _, err := e.db.Register(ctx, card(mario, "m1")); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var unknown, known atomic.Int64
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					label := "m1"
					if i%4 == 0 {
						label = "nobody"
					}
					err := e.db.RecordLogin(ctx, fp(label), e.clock.Now())
					switch {
					case label == "nobody" && errors.Is(err, registry.ErrNotRegistered):
						unknown.Add(1)
					case label == "m1" && err == nil:
						known.Add(1)
					default:
						t.Errorf("RecordLogin(%s) = %v", label, err)
					}
				}()
			}
			wg.Wait()
			if unknown.Load() != 10 || known.Load() != 30 {
				t.Errorf("unknown %d known %d, want 10 and 30", unknown.Load(), known.Load())
			}
		}},
		{"ok/full-queue-waits-never-drops", func(t *testing.T, e *env) {
			// A writer stuck on a held lock (SQLite) or a slow statement
			// stands for a slow disk: the queue fills, callers wait.
			d := e.db
			d.w.close() // replace the writer by one with a tiny queue
			d.w = newGroupWriter(d, 4, 2)
			const n = 64
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- d.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess, RequestID: fmt.Sprint(i)})
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("AppendAudit with a full queue: %v", err)
				}
			}
			got, err := d.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindLogout})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("%d of %d events stored", len(got), n)
			}
		}},
		{"fail/queue-full-past-deadline", func(t *testing.T, e *env) {
			d := e.db
			d.w.close()
			// No goroutine drains this queue of one: the second write waits
			// for room until its deadline, then says so.
			d.w = &groupWriter{d: d, ops: make(chan *writeOp, 1), quit: make(chan struct{})}
			d.w.ops <- &writeOp{done: make(chan error, 1)}
			c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			err := d.AppendAudit(c, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("AppendAudit on a full queue past its deadline = %v, want the deadline", err)
			}
			d.w = newGroupWriter(d, 4, 2) // for Close
		}},
		{"fail/after-close", func(t *testing.T, e *env) {
			d, err := e.reopen(t)
			if err != nil {
				t.Fatal(err)
			}
			d.Close()
			if err := d.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess}); !errors.Is(err, ErrClosed) {
				t.Fatalf("AppendAudit after Close = %v, want ErrClosed", err)
			}
		}},
		{"fail/bad-card-fingerprint", func(t *testing.T, e *env) {
			err := e.db.AppendAudit(ctx, registry.Event{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, CardFingerprint: "xyz"})
			if !errors.Is(err, registry.ErrInvalidEvent) {
				t.Fatalf("AppendAudit with a bad card fingerprint = %v, want ErrInvalidEvent", err)
			}
		}},
	})
}

// TestGroupCommitOneCore: on one core, concurrent writes share commits
// although nothing holds them back: a request that queues its write wakes
// the writer next in line, which must let the others queue theirs before
// it commits (once, each batch held the one write that woke it).
func TestGroupCommitOneCore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	obs := &batches{}
	d, err := Open(ctx, DriverSQLite, registrytest.SQLiteDSN(t), WithBatchObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const writers, each = 32, 10
	var wg sync.WaitGroup
	var failed atomic.Int64
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := d.AppendAudit(ctx, registry.Event{Kind: registry.KindTokenIssued, Outcome: registry.OutcomeSuccess,
					FiscalCode: mario, RequestID: fmt.Sprintf("g%d-%d", g, i)}); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d writes failed", failed.Load())
	}
	n, events, largest := obs.stats()
	t.Logf("%d writes in %d batches, largest %d", events, n, largest)
	if events != writers*each || n*4 > events {
		t.Errorf("%d batches for %d writes (largest %d): want at least 4 writes a batch on one core", n, events, largest)
	}
	if report, err := d.VerifyAudit(ctx, nil); err != nil || !report.OK() {
		t.Errorf("the chain does not verify: %+v, %v", report, err)
	}
}

// TestSQLiteReadersBesideWriter: a read does not wait for the writer's
// transaction (WAL: readers see the last commit).
func TestSQLiteReadersBesideWriter(t *testing.T) {
	dsn := registrytest.SQLiteDSN(t)
	d, err := Open(ctx, DriverSQLite, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.rdb == d.db {
		t.Fatal("no reader pool beside the writer")
	}
	var mode, sync string
	if err := d.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q (%v), want wal", mode, err)
	}
	if err := d.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != "1" {
		t.Fatalf("synchronous %q (%v), want 1 (NORMAL)", sync, err)
	}
	// Hold the write lock in a transaction of the writer's only connection.
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM audit_events"); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := d.QueryAudit(c, registry.AuditQuery{Limit: 1}); err != nil {
		t.Fatalf("a read while the writer holds its transaction: %v", err)
	}
	if _, err := d.rdb.ExecContext(c, "DELETE FROM audit_events"); err == nil {
		t.Fatal("a reader connection wrote")
	}
}

// holdWriteLock holds, from a connection of its own, a lock every audit
// write waits for (SQLite: the write lock; PostgreSQL: audit_events), until
// release.
func holdWriteLock(t *testing.T, driver, dsn string) (release func()) {
	t.Helper()
	name, stmts := "sqlite", []string{"BEGIN IMMEDIATE"}
	if driver == DriverPostgres {
		name, stmts = "pgx", []string{"BEGIN", "LOCK TABLE audit_events IN EXCLUSIVE MODE"}
	}
	db, err := sql.Open(name, dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stmts {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}
