package sqlstore

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// TestOperatorAdministration runs the administration of operators on
// SQLite and PostgreSQL: every act changes the table and leaves an audit
// event naming who made it; refused acts change nothing.
func TestOperatorAdministration(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	asl := registry.Operator{FiscalCode: gino, Roles: []string{"operatore_asl"}, Organisation: "120201",
		OrganisationName: "ASL Roma 1", ValidFrom: from, ValidUntil: until}
	runSuite(t, []suiteCase{
		{"ok/add-update-remove-audited", func(t *testing.T, e *env) {
			if err := e.db.AddOperator(ctx, asl, "cli:root"); err != nil {
				t.Fatal(err)
			}
			if err := e.db.AddOperator(ctx, asl, "cli:root"); !errors.Is(err, registry.ErrExists) {
				t.Fatalf("second add: %v, want ErrExists", err)
			}
			o, err := e.db.Operator(ctx, gino)
			if err != nil {
				t.Fatal(err)
			}
			if o.Organisation != "120201" || o.OrganisationName != "ASL Roma 1" || !o.ValidFrom.Equal(from) || !o.ValidUntil.Equal(until) || o.AnyCard {
				t.Fatalf("stored %+v", o)
			}
			if !o.ValidAt(from) || o.ValidAt(until) || o.ValidAt(from.Add(-time.Second)) {
				t.Error("ValidAt does not follow valid_from/valid_until")
			}
			upd := asl
			upd.Roles, upd.AnyCard, upd.ValidUntil = []string{"operatore_asl", "cms_admin"}, true, time.Time{}
			if err := e.db.UpdateOperator(ctx, upd, "admin-api:token"); err != nil {
				t.Fatal(err)
			}
			if err := e.db.UpdateOperator(ctx, registry.Operator{FiscalCode: anna, Roles: []string{"x"}}, "cli:root"); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("update of a missing operator: %v", err)
			}
			o, _ = e.db.Operator(ctx, gino)
			if !slices.Equal(o.Roles, upd.Roles) || !o.AnyCard || !o.ValidUntil.IsZero() {
				t.Fatalf("after update %+v", o)
			}
			if err := e.db.RemoveOperator(ctx, gino, "cli:root"); err != nil {
				t.Fatal(err)
			}
			if err := e.db.RemoveOperator(ctx, gino, "cli:root"); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("second remove: %v", err)
			}
			evs, err := e.db.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindOperatorChange})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range evs {
				var d OperatorChangeDetail
				if err := json.Unmarshal(ev.Detail, &d); err != nil || ev.FiscalCode != gino || ev.Reason != d.Action {
					t.Fatalf("event %+v: %v", ev, err)
				}
				got = append(got, d.Action+" by "+d.Actor)
			}
			slices.Reverse(got) // newest first
			want := []string{"add by cli:root", "update by admin-api:token", "remove by cli:root"}
			if !slices.Equal(got, want) {
				t.Fatalf("audit trail %v, want %v", got, want)
			}
		}},
		{"ok/import-csv", func(t *testing.T, e *env) {
			if err := e.db.AddOperator(ctx, asl, "cli:root"); err != nil {
				t.Fatal(err)
			}
			csv := "fiscal_code;organisation_id;organisation_name;roles;valid_from;valid_until;operator_card_required\n" +
				gino + ";120202;ASL Roma 2;operatore_asl;;;false\n" +
				anna + ";FARM01;Farmacia Centrale;farmacista|operatore_asl;2026-02-01;2026-12-31;\n"
			list, err := ParseOperatorsCSV(strings.NewReader(csv), []string{"operatore_asl", "farmacista"})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.db.ImportOperators(ctx, list, "cli:root")
			if err != nil || res.Inserted != 1 || res.Updated != 1 {
				t.Fatalf("import: %+v %v", res, err)
			}
			o, _ := e.db.Operator(ctx, anna)
			if o.OrganisationName != "Farmacia Centrale" || o.AnyCard || !slices.Equal(o.Roles, []string{"farmacista", "operatore_asl"}) ||
				o.ValidUntil.Format(time.DateOnly) != "2026-12-31" {
				t.Fatalf("imported %+v", o)
			}
			if o, _ := e.db.Operator(ctx, gino); o.Organisation != "120202" || !o.AnyCard {
				t.Fatalf("re-imported %+v", o)
			}
			evs, _ := e.db.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindOperatorChange})
			if len(evs) != 3 {
				t.Fatalf("%d operator_change events, want 3", len(evs))
			}
		}},
		{"fail/no-actor-changes-nothing", func(t *testing.T, e *env) {
			if err := e.db.AddOperator(ctx, asl, " "); !errors.Is(err, registry.ErrInvalidEvent) {
				t.Fatalf("add without actor: %v", err)
			}
			if _, err := e.db.Operator(ctx, gino); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("an unaudited add was stored: %v", err)
			}
		}},
	})
}

// TestParseOperatorsCSVRefusals: every bad row is reported with its line
// and reason.
func TestParseOperatorsCSVRefusals(t *testing.T) {
	csv := "fiscal_code,roles,valid_from,valid_until,operator_card_required\n" +
		"RSSMRA85T10A562X,operatore_asl,,,\n" + // bad check character
		gino + ",direttore,,,\n" + // role not configured
		anna + ",operatore_asl,2026-05-01,2026-01-01,\n" + // dates reversed
		anna + ",operatore_asl,,,maybe\n" // not a bool
	_, err := ParseOperatorsCSV(strings.NewReader(csv), []string{"operatore_asl"})
	var ce *CSVError
	if !errors.As(err, &ce) || len(ce.Lines) != 4 {
		t.Fatalf("err = %v", err)
	}
	for i, want := range []string{"line 2", `role "direttore"`, "valid_until is not after", "maybe"} {
		if !strings.Contains(ce.Lines[i].Error(), want) {
			t.Errorf("row %d: %v, want %q", i, ce.Lines[i], want)
		}
	}
	if _, err := ParseOperatorsCSV(strings.NewReader("cf,ruoli\n"), nil); err == nil || !strings.Contains(err.Error(), "unknown column") {
		t.Fatalf("bad header: %v", err)
	}
}
