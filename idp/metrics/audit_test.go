package metrics_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestAuditSink proves audit.sink and audit.reveal_fiscal_code: one refused
// login of an unregistered card, and where its audit event went.
func TestAuditSink(t *testing.T) {
	masked := x509cns.MaskFiscalCode(cfUnregistered)
	tests := []struct {
		name       string
		o          envOptions
		rows, logs int
		logHas     string
	}{
		{"ok/default-is-both-masked", envOptions{}, 1, 1, masked},
		{"ok/log-only", envOptions{auditSink: idp.AuditSinkLog}, 0, 1, masked},
		{"ok/db-only", envOptions{auditSink: idp.AuditSinkDB}, 1, 0, ""},
		{"ok/both-revealed", envOptions{auditSink: idp.AuditSinkBoth, revealCF: true}, 1, 1, cfUnregistered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ca, err := cnstest.NewRegionalCA("Umbria")
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, ca, tc.o)
			card := ca.MustIssueCard(cnstest.CardOptions{FiscalCode: cfUnregistered})
			e.browser(card).get(e.cns.URL+"/cns/login", 200, "Registra TS-CNS")

			events, err := e.reg.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindLogin})
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != tc.rows {
				t.Errorf("%d audit rows, want %d", len(events), tc.rows)
			}
			for _, ev := range events {
				if ev.FiscalCode != cfUnregistered || ev.Reason != string(x509cns.ReasonNotRegistered) {
					t.Errorf("audit row %+v", ev)
				}
			}
			logs := e.logs.String()
			if n := strings.Count(logs, `"msg":"audit"`); n != tc.logs {
				t.Errorf("%d audit log lines, want %d:\n%s", n, tc.logs, logs)
			}
			if tc.logHas != "" && !strings.Contains(logs, `"fiscal_code":"`+tc.logHas+`"`) {
				t.Errorf("audit log lacks fiscal_code %q:\n%s", tc.logHas, logs)
			}
			if !tc.o.revealCF && strings.Contains(logs, cfUnregistered) {
				t.Errorf("fiscal code logged unmasked:\n%s", logs)
			}
		})
	}
}

// TestPurgeLoop applies a one-day retention to a real SQLite audit table.
func TestPurgeLoop(t *testing.T) {
	db, err := sqlstore.Open(context.Background(), "sqlite", registrytest.SQLiteDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now().UTC()
	for _, at := range []time.Time{now.Add(-72 * time.Hour), now.Add(-25 * time.Hour), now.Add(-time.Hour)} {
		if err := db.AppendAudit(context.Background(), registry.Event{At: at, Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, FiscalCode: cfGood}); err != nil {
			t.Fatal(err)
		}
	}

	// A retention that is not positive keeps everything and returns at once.
	metrics.PurgeLoop(context.Background(), db, 0, time.Millisecond, nil)
	if evs, _ := db.QueryAudit(context.Background(), registry.AuditQuery{}); len(evs) != 3 {
		t.Fatalf("retention 0 purged: %d events left", len(evs))
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		metrics.PurgeLoop(ctx, db, 24*time.Hour, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	deadline := time.Now().Add(10 * time.Second)
	var left []registry.Event
	for time.Now().Before(deadline) {
		if left, err = db.QueryAudit(context.Background(), registry.AuditQuery{}); err == nil && len(left) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if len(left) != 1 || left[0].At.Before(now.Add(-2*time.Hour)) {
		t.Fatalf("after purge: %+v", left)
	}
}
