package sqlstore

import (
	"crypto/ed25519"
	"crypto/rand"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// exec runs a statement on the case's database directly, as someone with
// write access to it would, around cnsgate.
func exec(t *testing.T, e *env, query string, args ...any) {
	t.Helper()
	if _, err := e.db.db.ExecContext(ctx, e.db.q(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// idAt is the id of the event at position seq.
func idAt(t *testing.T, e *env, seq int64) int64 {
	t.Helper()
	var id int64
	if err := e.db.db.QueryRowContext(ctx, e.db.q("SELECT id FROM audit_events WHERE seq = ?"), seq).Scan(&id); err != nil {
		t.Fatalf("id at seq %d: %v", seq, err)
	}
	return id
}

// verify runs VerifyAudit and renders its problems, one a line.
func verify(t *testing.T, e *env, pub ed25519.PublicKey) (AuditReport, string) {
	t.Helper()
	r, err := e.db.VerifyAudit(ctx, pub)
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	var lines []string
	for _, p := range r.Problems {
		lines = append(lines, p.Kind+" "+p.Seq)
	}
	return r, strings.Join(lines, "\n")
}

// seedChain writes the seven events of seedAudit, then 20 concurrent ones
// (sharing group-commit batches) and an operator change in its own
// transaction: 28 events.
func seedChain(t *testing.T, e *env) {
	t.Helper()
	seedAudit(t, e)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.db.AppendAudit(ctx, registry.Event{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, FiscalCode: mario}); err != nil {
				t.Errorf("AppendAudit: %v", err)
			}
		}()
	}
	wg.Wait()
	if err := e.db.AddOperator(ctx, registry.Operator{FiscalCode: laura, Roles: []string{"operatore_asl"}}, "test"); err != nil {
		t.Fatalf("AddOperator: %v", err)
	}
}

func TestVerifyAudit(t *testing.T) {
	runSuite(t, []suiteCase{
		{"ok/intact", func(t *testing.T, e *env) {
			seedChain(t, e)
			r, got := verify(t, e, nil)
			if got != "" || r.Events != 28 || r.Head != 28 {
				t.Fatalf("intact chain: events %d head %d, problems:\n%s", r.Events, r.Head, got)
			}
		}},
		{"fail/edited-row", func(t *testing.T, e *env) {
			seedChain(t, e)
			exec(t, e, "UPDATE audit_events SET outcome = 'success', reason = '' WHERE seq = 2")
			r, got := verify(t, e, nil)
			if got != "changed 2" || r.Problems[0].ID != idAt(t, e, 2) {
				t.Fatalf("problems = %q (%v), want changed 2 with its id", got, r.Problems)
			}
		}},
		{"fail/edited-and-rehashed-row", func(t *testing.T, e *env) {
			seedChain(t, e)
			rehash(t, e, 5, "UPDATE audit_events SET fiscal_code = ? WHERE seq = 5", laura)
			if _, got := verify(t, e, nil); got != "changed 5" {
				t.Fatalf("problems = %q, want changed 5", got)
			}
		}},
		{"fail/deleted-row", func(t *testing.T, e *env) {
			seedChain(t, e)
			exec(t, e, "DELETE FROM audit_events WHERE seq = 4")
			if _, got := verify(t, e, nil); got != "removed 4" {
				t.Fatalf("problems = %q, want removed 4", got)
			}
		}},
		{"fail/deleted-rows-and-tail", func(t *testing.T, e *env) {
			seedChain(t, e)
			exec(t, e, "DELETE FROM audit_events WHERE seq IN (10, 11, 12, 28)")
			if _, got := verify(t, e, nil); got != "removed 10-12\nremoved 28" {
				t.Fatalf("problems = %q, want removed 10-12 and 28", got)
			}
		}},
		{"fail/inserted-row", func(t *testing.T, e *env) {
			seedChain(t, e)
			exec(t, e, "INSERT INTO audit_events (at, kind, outcome, fiscal_code) VALUES (?, 'login', 'success', ?)", e.db.ts(e.clock.Now()), laura)
			r, got := verify(t, e, nil)
			if got != "inserted " || r.Problems[0].ID == 0 {
				t.Fatalf("problems = %q (%v), want inserted with its id", got, r.Problems)
			}
		}},
		{"fail/inserted-at-taken-position", func(t *testing.T, e *env) {
			seedChain(t, e)
			exec(t, e, "INSERT INTO audit_events (at, kind, outcome, seq, prev_hash, hash) SELECT at, kind, outcome, seq, prev_hash, hash FROM audit_events WHERE seq = 7")
			if _, got := verify(t, e, nil); got != "inserted 7" {
				t.Fatalf("problems = %q, want inserted 7", got)
			}
		}},
		{"ok/two-replicas-one-chain", func(t *testing.T, e *env) {
			// Two processes on one database (replicas): their writers and an
			// operator change share one chain, without a gap or a fork.
			other, err := e.reopen(t)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for _, d := range []*DB{e.db, other, e.db, other} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 25; i++ {
						if err := d.AppendAudit(ctx, registry.Event{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess}); err != nil {
							t.Errorf("AppendAudit: %v", err)
						}
					}
				}()
			}
			if err := other.AddOperator(ctx, registry.Operator{FiscalCode: laura, Roles: []string{"operatore_asl"}}, "test"); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if err := e.db.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess}); err != nil {
				t.Fatal(err)
			}
			if r, got := verify(t, e, nil); got != "" || r.Events != 102 || r.Head != 102 {
				t.Fatalf("events %d head %d, problems %q; want 102 and none", r.Events, r.Head, got)
			}
		}},
		{"ok/head-moved-under-the-writer", func(t *testing.T, e *env) {
			// The group commit's writer links a batch after the head it
			// committed last; whoever else moves the head (an operator
			// change, a second process one event at a time) makes it read
			// the head again, never fork the chain.
			seedChain(t, e) // ends with an operator change: the writer's head is stale
			other, err := e.reopen(t)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 6 {
				d := e.db
				if i%2 == 1 {
					d = other
				}
				if err := d.AppendAudit(ctx, registry.Event{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, FiscalCode: mario}); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 { // from the head it committed itself
				if err := e.db.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess}); err != nil {
					t.Fatal(err)
				}
			}
			if r, got := verify(t, e, nil); got != "" || r.Events != 37 || r.Head != 37 {
				t.Fatalf("events %d head %d, problems %q; want 37 and none", r.Events, r.Head, got)
			}
			if !e.db.tip.known || e.db.tip.seq != 37 {
				t.Fatalf("the writer's head is %+v, want seq 37 known", e.db.tip)
			}
		}},
		{"ok/events-from-before-the-chain", func(t *testing.T, e *env) {
			// A database upgraded by 0005_audit_chain: its events keep seq 0,
			// and audit_chain.legacy_max_id marks them.
			exec(t, e, "INSERT INTO audit_events (at, kind, outcome) VALUES (?, 'login', 'success')", e.db.ts(e.clock.Now().Add(-time.Hour)))
			exec(t, e, "UPDATE audit_chain SET legacy_max_id = (SELECT MAX(id) FROM audit_events) WHERE id = 1")
			seedChain(t, e)
			if r, got := verify(t, e, nil); got != "" || r.Legacy != 1 || r.Events != 28 {
				t.Fatalf("legacy %d events %d, problems %q; want 1, 28, none", r.Legacy, r.Events, got)
			}
			if n, err := e.db.PurgeAudit(ctx, e.clock.Now().Add(-time.Minute)); err != nil || n != 1 {
				t.Fatalf("PurgeAudit of the old event = %d, %v; want 1", n, err)
			}
			if r, got := verify(t, e, nil); got != "" || r.Legacy != 0 || r.Start != 0 {
				t.Fatalf("after purging it: legacy %d start %d, problems %q", r.Legacy, r.Start, got)
			}
		}},
		{"ok/retention-anchor", retentionCase},
		{"fail/rewritten-chain-against-checkpoint", checkpointCase},
	})
}

// eventAt reads the event at position seq.
func eventAt(t *testing.T, e *env, seq int64) registry.Event {
	t.Helper()
	rows, err := e.db.db.QueryContext(ctx, e.db.q("SELECT "+auditColumns+" FROM audit_events WHERE seq = ?"), seq)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	evs, err := scanEvents(rows)
	if err != nil || len(evs) != 1 {
		t.Fatalf("event at seq %d: %v (%d rows)", seq, err, len(evs))
	}
	return evs[0]
}

// rehash runs edit and recomputes the hash of the event at seq, as someone
// who knows the chain's algorithm would; the next event's link then no
// longer matches.
func rehash(t *testing.T, e *env, seq int64, edit string, args ...any) {
	t.Helper()
	exec(t, e, edit, args...)
	var prev string
	if err := e.db.db.QueryRowContext(ctx, e.db.q("SELECT prev_hash FROM audit_events WHERE seq = ?"), seq).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	ev := eventAt(t, e, seq)
	exec(t, e, "UPDATE audit_events SET hash = ? WHERE seq = ?", chainHash(seq, prev, chainFields(&ev)), seq)
}

// relink links the event at seq to the one before it again and moves the
// head there: what rewriting the chain from an edit takes.
func relink(t *testing.T, e *env, seq int64) {
	t.Helper()
	var prev string
	if err := e.db.db.QueryRowContext(ctx, e.db.q("SELECT hash FROM audit_events WHERE seq = ?"), seq-1).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	ev := eventAt(t, e, seq)
	h := chainHash(seq, prev, chainFields(&ev))
	exec(t, e, "UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?", prev, h, seq)
	exec(t, e, "UPDATE audit_chain SET seq = ?, hash = ? WHERE id = 1", seq, h)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// retentionCase: retention deletes the oldest events and the chain still
// verifies from its anchor; deleting the first remaining event is seen.
func retentionCase(t *testing.T, e *env) {
	seedChain(t, e)
	// The seed's events are 0..6 minutes after the clock's time; the
	// concurrent ones at the clock's time: everything before +3m30s.
	n, err := e.db.PurgeAudit(ctx, e.clock.Now().Add(3*time.Minute+30*time.Second))
	if err != nil {
		t.Fatalf("PurgeAudit: %v", err)
	}
	r, got := verify(t, e, nil)
	if got != "" || r.Start == 0 || int64(r.Events) != r.Head-r.Start || n != r.Start {
		t.Fatalf("after purging %d: start %d head %d events %d, problems:\n%s", n, r.Start, r.Head, r.Events, got)
	}
	if err := e.db.AppendAudit(ctx, registry.Event{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess}); err != nil {
		t.Fatal(err)
	}
	first := r.Start + 1
	exec(t, e, "DELETE FROM audit_events WHERE seq = ?", first)
	if _, got := verify(t, e, nil); got != "removed "+itoa(first) {
		t.Fatalf("problems = %q, want removed %d", got, first)
	}
}

// checkpointCase: a chain rewritten whole (every hash recomputed after an
// edit, the head moved) verifies link by link, but not against the signed
// checkpoint; a forged checkpoint fails its signature.
func checkpointCase(t *testing.T, e *env) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e.db.cpKey = key
	seedChain(t, e)
	if seq, err := e.db.Checkpoint(ctx); err != nil || seq != 28 {
		t.Fatalf("Checkpoint = %d, %v; want 28", seq, err)
	}
	if seq, err := e.db.Checkpoint(ctx); err != nil || seq != 0 {
		t.Fatalf("second Checkpoint = %d, %v; want 0 (nothing new)", seq, err)
	}
	if _, got := verify(t, e, pub); got != "" {
		t.Fatalf("signed intact chain: problems %q", got)
	}
	exec(t, e, "UPDATE audit_events SET reason = 'forged' WHERE seq = 20")
	for seq := int64(20); seq <= 28; seq++ {
		relink(t, e, seq)
	}
	if _, got := verify(t, e, pub); got != "changed 28" {
		t.Fatalf("rewritten chain: problems = %q, want changed 28 (the checkpoint)", got)
	}
	exec(t, e, "UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit_chain WHERE id = 1)")
	if _, got := verify(t, e, pub); got != "checkpoint 28" {
		t.Fatalf("forged checkpoint: problems = %q, want checkpoint 28", got)
	}
}
