package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

// TestAdminAPIAuditReports searches the audit trail and the history of a
// citizen through a running server's admin API, on SQLite and on
// PostgreSQL: filters (time range, fiscal code, card serial, relying
// party, outcome, reason, client address, issuer), pages of offset+limit
// with their total that keep their snapshot (max_id) while events are
// written, CSV with its header and formula-injection escaping, logins per
// day by outcome, reason, issuer and relying party, the history with its
// statuses and dates, bad filters refused with a precise 400, and
// `cnsgate audit query` answering as the API does.
func TestAdminAPIAuditReports(t *testing.T) {
	for _, driver := range []string{sqlstore.DriverSQLite, sqlstore.DriverPostgres} {
		t.Run(driver, func(t *testing.T) { auditReportsCase(t, driver) })
	}
}

// usePostgres replaces the demo configuration's registry with PostgreSQL.
func usePostgres(t *testing.T, yml, dsn string) string {
	t.Helper()
	i, j := strings.Index(yml, "registry:\n"), strings.Index(yml, "log:\n")
	if i < 0 || j < i {
		t.Fatalf("the demo configuration changed shape; edit this test:\n%s", yml)
	}
	return yml[:i] + fmt.Sprintf("registry:\n  driver: postgres\n  dsn: %q\n  timeout: 10s\n", dsn) + yml[j:]
}

// auditAPI calls the admin API and returns the status, headers and body.
func auditAPI(t *testing.T, s *testServer, token, path string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.b.Admin+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func auditAPIJSON(t *testing.T, s *testServer, token, path string) map[string]any {
	t.Helper()
	code, _, body := auditAPI(t, s, token, path)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil || code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return out
}

func auditReportsCase(t *testing.T, driver string) {
	dsn := ""
	if driver == sqlstore.DriverPostgres {
		dsn = registrytest.PostgresDSN(t)
	}
	tokenFile, token := adminToken(t)
	s := startServer(t, func(y string) string {
		if dsn != "" {
			y = usePostgres(t, y, dsn)
		}
		return y + oidcConfig(t, "") + "admin:\n  token_file: " + tokenFile + "\nlogin:\n  confirm_release: false\n"
	})
	if dsn == "" {
		dsn = s.cfg.Registry.DSN.Value()
	}
	citizen, _ := s.setup.Card("citizen")
	cf := citizen.FiscalCode
	reg, err := sqlstore.Open(context.Background(), driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if driver == sqlstore.DriverPostgres { // the demo registered its cards on SQLite only
		registerCard(t, s.cfg, dsn, citizen)
	}
	s.oidcLogin(t, s.rpBrowser(t, citizen), "openid") // registers the card and logs in
	for _, name := range []string{"revoked", "expired"} {
		if code, _ := loginPage(t, s.client(t, loadCard(t, cardByName(t, s.setup, name)), nil), s.b.CNS); code != http.StatusForbidden {
			t.Fatalf("%s card: %d, want 403", name, code)
		}
	}
	auditEvents(t, s, registry.KindLogin, cf, 1)

	// Logins of three earlier days, written as another replica would.
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	injected := []registry.Event{
		{At: day.Add(time.Hour), Kind: registry.KindLogin, Outcome: registry.OutcomeFailure, Reason: "revoked", Issuer: "=HYPERLINK(\"http://x\")", CardSerial: "0a1b", RemoteIP: "192.0.2.7", Client: "esenzioni"},
		{At: day.Add(2 * time.Hour), Kind: registry.KindLogin, Outcome: registry.OutcomeFailure, Reason: "revoked", Issuer: "CA Uno", CardSerial: "0a1b", RemoteIP: "192.0.2.7", Client: "+cmd|' /C calc'!A0"},
		{At: day.Add(25 * time.Hour), Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, Issuer: "CA Uno", FiscalCode: cf, CardSerial: "0c0d", Client: "esenzioni"},
		{At: day.Add(49 * time.Hour), Kind: registry.KindLogin, Outcome: registry.OutcomeFailure, Reason: "expired", Issuer: "CA Due", CardSerial: "0e0f", Client: "@sum(1)"},
	}
	for _, e := range injected {
		if err := reg.AppendAudit(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	checkAuditFilters(t, s, token, cf, day)
	checkAuditPages(t, s, token, reg)
	checkAuditCSV(t, s, token, day)
	checkAuditAggregates(t, s, token, day)
	checkHistory(t, s, token, cf)
	checkAuditRefusals(t, s, token)
	checkAuditCLI(t, s, cf, day)
}

func eventCount(t *testing.T, out map[string]any) (int, []map[string]any) {
	t.Helper()
	raw, _ := out["events"].([]any)
	events := make([]map[string]any, len(raw))
	for i, e := range raw {
		events[i] = e.(map[string]any)
	}
	return int(out["total"].(float64)), events
}

func checkAuditFilters(t *testing.T, s *testServer, token, cf string, day time.Time) {
	since := url.QueryEscape(day.Format(time.RFC3339))
	until := url.QueryEscape(day.Add(48 * time.Hour).Format(time.RFC3339))
	for _, c := range []struct {
		query string
		want  int
	}{
		{"kind=login&since=" + since + "&until=" + until, 3},
		{"kind=login&since=" + since + "&until=" + until + "&outcome=failure", 2},
		{"since=" + since + "&card_serial=0A1B", 2},
		{"since=" + since + "&remote_ip=192.0.2.7&reason=revoked", 2},
		{"since=" + since + "&client=esenzioni&kind=login", 3}, // two injected, the live one (for esenzioni)
		{"since=" + since + "&issuer=CA+Uno", 2},
		{"since=" + since + "&kind=login&fiscal_code=" + strings.ToLower(cf), 2},
		{"since=" + day.Format(time.DateOnly) + "&until=" + day.AddDate(0, 0, 1).Format(time.DateOnly), 2},
		{"since=1h&kind=login&outcome=failure", 2}, // the revoked and expired cards just now
	} {
		total, events := eventCount(t, auditAPIJSON(t, s, token, "/admin/audit?"+c.query))
		if total != c.want || len(events) != c.want {
			t.Errorf("/admin/audit?%s: total %d, %d events, want %d: %v", c.query, total, len(events), c.want, events)
		}
	}
	_, events := eventCount(t, auditAPIJSON(t, s, token, "/admin/audit?kind=login&fiscal_code="+cf+"&since=1h"))
	if len(events) != 1 || events[0]["fiscal_code"] != cf || events[0]["outcome"] != "success" {
		t.Errorf("the citizen's live login: %v", events)
	}
}

func checkAuditPages(t *testing.T, s *testServer, token string, reg *sqlstore.DB) {
	first := auditAPIJSON(t, s, token, "/admin/audit?since=30d&limit=3")
	total, page1 := eventCount(t, first)
	maxID := int64(first["max_id"].(float64))
	if total < 6 || len(page1) != 3 || first["next_offset"] != 3.0 {
		t.Fatalf("first page: %v", first)
	}
	// A new event does not move the pages of the search.
	if err := reg.AppendAudit(context.Background(), registry.Event{Kind: registry.KindLogin, Outcome: registry.OutcomeFailure, Reason: "unknown_issuer"}); err != nil {
		t.Fatal(err)
	}
	seen := map[float64]bool{}
	for _, e := range page1 {
		seen[e["id"].(float64)] = true
	}
	for offset := 3; offset >= 0; {
		out := auditAPIJSON(t, s, token, fmt.Sprintf("/admin/audit?since=30d&limit=3&offset=%d&max_id=%d", offset, maxID))
		n, events := eventCount(t, out)
		if n != total {
			t.Fatalf("page at offset %d: total %d, want %d (the snapshot's)", offset, n, total)
		}
		for _, e := range events {
			if seen[e["id"].(float64)] {
				t.Fatalf("event %v on two pages", e["id"])
			}
			seen[e["id"].(float64)] = true
		}
		next, ok := out["next_offset"].(float64)
		if !ok {
			break
		}
		offset = int(next)
	}
	if len(seen) != total {
		t.Fatalf("the pages held %d events, want %d", len(seen), total)
	}
	if now, _ := eventCount(t, auditAPIJSON(t, s, token, "/admin/audit?since=30d&limit=3")); now <= total {
		t.Fatalf("a new search sees %d events, want more than %d", now, total)
	}
	t.Logf("%d events in pages of 3 under max_id %d", total, maxID)
}

func checkAuditCSV(t *testing.T, s *testServer, token string, day time.Time) {
	q := "/admin/audit?format=csv&kind=login&until=" + url.QueryEscape(day.Add(72*time.Hour).Format(time.RFC3339)) + "&since=" + url.QueryEscape(day.Format(time.RFC3339))
	code, h, body := auditAPI(t, s, token, q)
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || h.Get("X-Total-Count") != "4" {
		t.Fatalf("CSV: %d %v\n%s", code, h, body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) != 5 || strings.Join(rows[0], ",") != "id,at,kind,outcome,reason,fiscal_code,client,session,card_serial,issuer,remote_ip,request_id,detail" {
		t.Fatalf("CSV rows %v (%v)", rows, err)
	}
	cells := map[string]bool{}
	for _, r := range rows[1:] {
		for _, c := range r {
			cells[c] = true
			if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				t.Errorf("CSV cell %q would run as a formula", c)
			}
		}
	}
	for _, want := range []string{`'=HYPERLINK("http://x")`, `'+cmd|' /C calc'!A0`, `'@sum(1)`} {
		if !cells[want] {
			t.Errorf("CSV lacks the escaped cell %q:\n%s", want, body)
		}
	}
}

func checkAuditAggregates(t *testing.T, s *testServer, token string, day time.Time) {
	rng := "&since=" + url.QueryEscape(day.Format(time.RFC3339)) + "&until=" + url.QueryEscape(day.Add(72*time.Hour).Format(time.RFC3339))
	d := func(n int) string { return day.AddDate(0, 0, n).Format(time.DateOnly) }
	for by, want := range map[string][]string{
		"outcome": {d(0) + " failure 2", d(1) + " success 1", d(2) + " failure 1"},
		"reason":  {d(0) + " revoked 2", d(1) + "  1", d(2) + " expired 1"},
		"issuer":  {d(0) + " =HYPERLINK(\"http://x\") 1", d(0) + " CA Uno 1", d(1) + " CA Uno 1", d(2) + " CA Due 1"},
		"client":  {d(0) + " +cmd|' /C calc'!A0 1", d(0) + " esenzioni 1", d(1) + " esenzioni 1", d(2) + " @sum(1) 1"},
	} {
		out := auditAPIJSON(t, s, token, "/admin/audit/aggregate?by="+by+rng)
		var got []string
		for _, b := range out["buckets"].([]any) {
			m := b.(map[string]any)
			got = append(got, fmt.Sprintf("%s %s %v", m["day"], m[by], m["count"]))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("logins per day by %s:\n%s\nwant\n%s", by, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	code, _, body := auditAPI(t, s, token, "/admin/audit/aggregate?format=csv&by=client"+rng)
	if code != 200 || !strings.HasPrefix(string(body), "day,client,count\n") || !strings.Contains(string(body), d(2)+",'@sum(1),1") {
		t.Errorf("aggregate CSV: %d\n%s", code, body)
	}
}

func checkHistory(t *testing.T, s *testServer, token, cf string) {
	out := auditAPIJSON(t, s, token, "/admin/history?fiscal_code="+cf)
	regs, _ := out["registrations"].([]any)
	if out["total"] != 1.0 || len(regs) != 1 {
		t.Fatalf("history: %v", out)
	}
	r := regs[0].(map[string]any)
	if r["status"] != "active" || r["registered_at"] == "" || r["last_login_at"] == nil || r["revoked_at"] != nil {
		t.Fatalf("history before revocation: %v", r)
	}
	if code, _, out := s.adminCall(t, "POST", "/admin/registrations/revoke", "Bearer "+token, `{"fiscal_code":"`+cf+`"}`); code != 200 {
		t.Fatalf("revoke: %d %v", code, out)
	}
	out = auditAPIJSON(t, s, token, "/admin/history?card_serial="+r["card_serial"].(string))
	r = out["registrations"].([]any)[0].(map[string]any)
	if r["status"] != "revoked" || r["revoked_at"] == nil || r["fiscal_code"] != cf {
		t.Fatalf("history after revocation: %v", r)
	}
	code, h, body := auditAPI(t, s, token, "/admin/history?format=csv&fiscal_code="+cf)
	if code != 200 || h.Get("X-Total-Count") != "1" || !strings.HasPrefix(string(body), "id,fiscal_code,issuer,card_serial,fingerprint,card_type,status,registered_at") ||
		!strings.Contains(string(body), ",revoked,") {
		t.Fatalf("history CSV: %d %v\n%s", code, h, body)
	}
	calls := auditEvents(t, s, registry.KindAdminRequest, cf, 5) // 2 searches by fiscal code, history, revoke, history as CSV
	if !strings.Contains(toJSON(calls), `"action":"history"`) || !strings.Contains(toJSON(calls), `"filter":"format=csv"`) {
		t.Errorf("history calls audited as %s", toJSON(calls))
	}
}

func checkAuditRefusals(t *testing.T, s *testServer, token string) {
	for path, want := range map[string]string{
		"/admin/audit?outcome=maybe":                                 `outcome: \"maybe\" is neither success nor failure`,
		"/admin/audit?since=yesterday":                               `since: \"yesterday\" is neither an RFC 3339 time`,
		"/admin/audit?since=2026-12-02&until=2026-12-01":             "must be before until",
		"/admin/audit?limit=0":                                       `limit: \"0\" is not a number from 1 to 1000`,
		"/admin/audit?limit=5000":                                    `limit: \"5000\" is not a number from 1 to 1000`,
		"/admin/audit?offset=-1":                                     `offset: \"-1\" is not a number from 0`,
		"/admin/audit?fiscal=X":                                      `unknown parameter \"fiscal\"`,
		"/admin/audit?kind=login&kind=logout":                        `parameter \"kind\" given 2 times`,
		"/admin/audit?fiscal_code=RSSMRA85T10A562X":                  "fiscal_code: ",
		"/admin/audit?remote_ip=300.1.1.1":                           `remote_ip: \"300.1.1.1\" is not an IP address`,
		"/admin/audit?card_serial=xyz":                               "card_serial: not a certificate serial in hex",
		"/admin/audit?reason=DROP%20TABLE":                           "reason: ",
		"/admin/audit?format=xml":                                    `format: \"xml\" is neither json nor csv`,
		"/admin/audit/aggregate?by=weekday":                          `by: \"weekday\" is not one of outcome, reason, issuer, client`,
		"/admin/history":                                             "fiscal_code or card_serial is required",
		"/admin/history?fiscal_code=RSSMRA85T10A562S&card_serial=0a": "not both",
	} {
		code, _, body := auditAPI(t, s, token, path)
		if code != http.StatusBadRequest || !strings.Contains(string(body), `"error":"bad_request"`) || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d %s, want 400 with %s", path, code, body, want)
		}
	}
	if code, _, _ := s.adminCall(t, "GET", "/admin/audit", "", ""); code != http.StatusUnauthorized {
		t.Errorf("audit search without a token: %d", code)
	}
	if n := s.metric(t, `cnsgate_admin_requests_total{action="audit_search",result="bad_request"}`); n != 13 {
		t.Errorf("bad audit searches counted %v, want 13", n)
	}
}

func checkAuditCLI(t *testing.T, s *testServer, cf string, day time.Time) {
	var out, errb strings.Builder
	args := []string{"audit", "query", "--config", s.setup.ConfigFile, "--since", day.Format(time.RFC3339), "--until", day.Add(72 * time.Hour).Format(time.RFC3339),
		"--kind", "login", "--format", "csv"}
	if code := run(context.Background(), args, &out, &errb); code != 0 || strings.Count(out.String(), "\n") != 5 || !strings.Contains(out.String(), `'@sum(1)`) {
		t.Fatalf("audit query --format csv: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	args = []string{"audit", "query", "--config", s.setup.ConfigFile, "--since", "30d", "--aggregate", "--by", "reason"}
	if code := run(context.Background(), args, &out, &errb); code != 0 || !strings.Contains(out.String(), `"reason":"expired"`) {
		t.Fatalf("audit query --aggregate: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	args = []string{"audit", "query", "--config", s.setup.ConfigFile, "--outcome", "maybe"}
	if code := run(context.Background(), args, &out, &errb); code != 1 || !strings.Contains(errb.String(), `outcome: "maybe" is neither success nor failure`) {
		t.Fatalf("audit query --outcome maybe: exit %d\n%s", code, errb.String())
	}
	out.Reset()
	args = []string{"audit", "query", "--config", s.setup.ConfigFile, "--fiscal-code", cf, "--kind", "login", "--since", "1h"}
	if code := run(context.Background(), args, &out, &errb); code != 0 || strings.Count(out.String(), "\n") != 1 || !strings.Contains(out.String(), cf) {
		t.Fatalf("audit query --fiscal-code: exit %d\n%s%s", code, out.String(), errb.String())
	}
}
