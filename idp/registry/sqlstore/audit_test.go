package sqlstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// seedAudit appends, one minute apart starting at the clock's time:
//
//	0 login success mario esenzioni
//	1 login failure laura (revoked)
//	2 registration success mario
//	3 login success mario cms
//	4 logout success mario
//	5 crl_refresh_failure failure
func seedAudit(t *testing.T, e *env) (t0 time.Time) {
	t.Helper()
	t0 = e.clock.Now()
	events := []registry.Event{
		{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, FiscalCode: mario, Client: "esenzioni", RemoteIP: "192.0.2.1", RequestID: "r0",
			SessionHash: "ab12", CardSerial: "0x01", Issuer: "Regione Test", Detail: json.RawMessage(`{"amr":["sc","pin"]}`)},
		{Kind: registry.KindLogin, Outcome: registry.OutcomeFailure, Reason: "revoked", FiscalCode: laura},
		{Kind: registry.KindRegistration, Outcome: registry.OutcomeSuccess, FiscalCode: mario},
		{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, FiscalCode: strings.ToLower(mario), Client: "cms"},
		{Kind: registry.KindLogout, Outcome: registry.OutcomeSuccess, FiscalCode: mario},
		{Kind: registry.KindCRLRefreshFailure, Outcome: registry.OutcomeFailure, Reason: "revocation_unavailable", Issuer: "Regione Test"},
		{Kind: registry.KindTokenIssued, Outcome: registry.OutcomeSuccess, FiscalCode: mario, Client: "esenzioni"},
	}
	for i, ev := range events {
		ev.At = t0.Add(time.Duration(i) * time.Minute)
		if err := e.db.AppendAudit(ctx, ev); err != nil {
			t.Fatalf("AppendAudit(%d): %v", i, err)
		}
	}
	return t0
}

// ids renders events as the seed indexes they carry (minutes after t0).
func ids(t0 time.Time, evs []registry.Event) string {
	var s []string
	for _, ev := range evs {
		s = append(s, fmt.Sprint(int(ev.At.Sub(us(t0)).Minutes())))
	}
	return strings.Join(s, ",")
}

func TestAudit(t *testing.T) {
	runSuite(t, []suiteCase{
		{"ok/query", func(t *testing.T, e *env) {
			t0 := seedAudit(t, e)
			for name, c := range map[string]struct {
				q    registry.AuditQuery
				want string
			}{
				"all newest first": {registry.AuditQuery{}, "6,5,4,3,2,1,0"},
				"since":            {registry.AuditQuery{Since: t0.Add(3 * time.Minute)}, "6,5,4,3"},
				"since+until":      {registry.AuditQuery{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, "2,1"},
				"fiscal code":      {registry.AuditQuery{FiscalCode: strings.ToLower(mario)}, "6,4,3,2,0"},
				"outcome":          {registry.AuditQuery{Outcome: registry.OutcomeFailure}, "5,1"},
				"kind":             {registry.AuditQuery{Kind: registry.KindLogin}, "3,1,0"},
				"client":           {registry.AuditQuery{Client: "cms"}, "3"},
				"cf+kind+outcome":  {registry.AuditQuery{FiscalCode: mario, Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess}, "3,0"},
				"limit":            {registry.AuditQuery{Limit: 2}, "6,5"},
				"kinds":            {registry.AuditQuery{Kinds: []registry.EventKind{registry.KindLogout, registry.KindTokenIssued}}, "6,4"},
				"none":             {registry.AuditQuery{FiscalCode: anna}, ""},
			} {
				got, err := e.db.QueryAudit(ctx, c.q)
				if err != nil || ids(t0, got) != c.want {
					t.Errorf("%s: QueryAudit = %s, %v; want %s", name, ids(t0, got), err, c.want)
				}
			}
			if _, err := e.db.QueryAudit(ctx, registry.AuditQuery{Outcome: "failed"}); err == nil {
				t.Error("QueryAudit with an unknown outcome succeeded")
			}
		}},
		{"ok/fields-round-trip", func(t *testing.T, e *env) {
			t0 := seedAudit(t, e)
			got, err := e.db.QueryAudit(ctx, registry.AuditQuery{Until: t0.Add(time.Second)})
			if err != nil || len(got) != 1 {
				t.Fatalf("QueryAudit = %+v, %v", got, err)
			}
			want := registry.Event{ID: got[0].ID, At: us(t0), Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, FiscalCode: mario, Client: "esenzioni",
				RemoteIP: "192.0.2.1", RequestID: "r0", SessionHash: "ab12", CardSerial: "0x01", Issuer: "Regione Test",
				Detail: json.RawMessage(`{"amr":["sc","pin"]}`)}
			if fmt.Sprintf("%#v", got[0]) != fmt.Sprintf("%#v", want) || got[0].At.Location() != time.UTC {
				t.Errorf("event =\n %#v\nwant\n %#v", got[0], want)
			}
		}},
		{"ok/same-instant-by-insertion", func(t *testing.T, e *env) {
			for _, r := range []string{"first", "second", "third"} {
				if err := e.db.AppendAudit(ctx, registry.Event{Kind: registry.KindConfigReload, Outcome: registry.OutcomeSuccess, Reason: r}); err != nil {
					t.Fatal(err)
				}
			}
			got, _ := e.db.QueryAudit(ctx, registry.AuditQuery{})
			if len(got) != 3 || got[0].Reason != "third" || got[2].Reason != "first" || !got[0].At.Equal(us(e.clock.Now())) {
				t.Errorf("QueryAudit = %+v", got)
			}
		}},
		{"ok/recent-accesses", func(t *testing.T, e *env) {
			t0 := seedAudit(t, e)
			got, err := e.db.RecentAccesses(ctx, mario, 5)
			if err != nil || ids(t0, got) != "6,3,0" || got[0].Client != "esenzioni" || got[1].Client != "cms" {
				t.Errorf("RecentAccesses(mario) = %s, %v", ids(t0, got), err)
			}
			if got, _ := e.db.RecentAccesses(ctx, laura, 5); ids(t0, got) != "1" || got[0].Outcome != registry.OutcomeFailure {
				t.Errorf("RecentAccesses(laura) = %s", ids(t0, got))
			}
			if got, _ := e.db.RecentAccesses(ctx, mario, 1); ids(t0, got) != "6" {
				t.Errorf("RecentAccesses(mario, 1) = %s", ids(t0, got))
			}
			if got, _ := e.db.RecentAccesses(ctx, "", 5); len(got) != 0 {
				t.Errorf("RecentAccesses(\"\") = %d events", len(got))
			}
		}},
		{"ok/purge", func(t *testing.T, e *env) {
			t0 := seedAudit(t, e)
			n, err := e.db.PurgeAudit(ctx, t0.Add(2*time.Minute))
			if err != nil || n != 2 {
				t.Fatalf("PurgeAudit = %d, %v; want 2", n, err)
			}
			if got, _ := e.db.QueryAudit(ctx, registry.AuditQuery{}); ids(t0, got) != "6,5,4,3,2" {
				t.Errorf("after purge = %s", ids(t0, got))
			}
		}},
		{"fail/bad-events", func(t *testing.T, e *env) {
			for name, ev := range map[string]registry.Event{
				"no kind":      {Outcome: registry.OutcomeSuccess},
				"bad outcome":  {Kind: registry.KindLogin, Outcome: "maybe"},
				"no outcome":   {Kind: registry.KindLogin},
				"bad detail":   {Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, Detail: json.RawMessage(`{`)},
				"detail not 1": {Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, Detail: json.RawMessage(`1 2`)},
			} {
				if err := e.db.AppendAudit(ctx, ev); err == nil {
					t.Errorf("%s: AppendAudit succeeded", name)
				}
			}
		}},
	})
}
