package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// Fiscal codes of the scripted cards.
const (
	cfGood         = "RSSMRA85T10A562S"
	cfRevoked      = "VRDLGU80A01H501Q"
	cfUnregistered = "BNCGNN90D45F205V"
)

// TestScriptedJourney drives real card logins over TLS and reads back,
// from /metrics and from the audit table, exactly what they recorded: a
// good login (register, then log in), a revoked card, an unregistered card
// and a logout.
func TestScriptedJourney(t *testing.T) {
	ca, err := cnstest.NewRegionalCA("Toscana")
	if err != nil {
		t.Fatal(err)
	}
	good := ca.MustIssueCard(cnstest.CardOptions{FiscalCode: cfGood, GivenName: "MARIO", FamilyName: "ROSSI"})
	revoked := ca.MustIssueCard(cnstest.CardOptions{FiscalCode: cfRevoked})
	unregistered := ca.MustIssueCard(cnstest.CardOptions{FiscalCode: cfUnregistered})
	ca.Revoke(revoked.Cert.SerialNumber, time.Now().Add(-time.Hour), 1)
	e := newEnv(t, ca, envOptions{})
	issuer := ca.Cert.Subject.CommonName
	start := time.Now().Add(-time.Second)

	fams, _ := e.scrape()
	before := counters(fams)

	// Good card: "Registra TS-CNS", then "Login TS-CNS" and "Esci".
	gb := e.browser(good)
	p := gb.get(e.cns.URL+"/cns/login", 200, "Registra TS-CNS")
	gb.post(e.cns.URL+"/cns/register", url.Values{"csrf": {csrf(t, p)}, "consent": {"yes"}}, 200, "Operazione correttamente eseguita")
	// A login begun on the card listener is bound to the browser through
	// the public origin's /cns/start first: the card is judged twice.
	welcome := gb.get(e.cns.URL+"/cns/login", 200, "Servizi attivi")
	// Revoked card: refused by the CRL.
	e.browser(revoked).get(e.cns.URL+"/cns/login", 403, "revocat")
	// Unregistered card: offered registration, does not take it.
	e.browser(unregistered).get(e.cns.URL+"/cns/login", 200, "Registra TS-CNS")
	// Logout of the good card's session.
	gb.post(e.public.URL+"/logout", url.Values{"csrf": {csrf(t, welcome)}}, 200, "rimuovi la tessera")
	// A path no route matches.
	gb.get(e.public.URL+"/no/such/page/"+cfGood, 404, "")

	fams, text := e.scrape()
	got := deltas(before, counters(fams))
	want := map[string]float64{
		`cnsgate_login_attempts_total{outcome="failure",reason="not_registered"}`:            2,
		`cnsgate_login_attempts_total{outcome="failure",reason="revoked"}`:                   1,
		`cnsgate_login_attempts_total{outcome="success",reason="none"}`:                      1,
		`cnsgate_registrations_total{outcome="success"}`:                                     1,
		`cnsgate_sessions_created_total`:                                                     1,
		`cnsgate_sessions_ended_total{cause="logout"}`:                                       1,
		`cnsgate_cert_validation_seconds_count`:                                              6,
		`cnsgate_revocation_checks_total{method="crl",result="good"}`:                        5,
		`cnsgate_revocation_checks_total{method="crl",result="revoked"}`:                     1,
		`cnsgate_http_request_duration_seconds_count{code="200",route="GET /cns/login"}`:     2,
		`cnsgate_http_request_duration_seconds_count{code="303",route="GET /cns/login"}`:     2,
		`cnsgate_http_request_duration_seconds_count{code="303",route="GET /cns/start"}`:     1,
		`cnsgate_http_request_duration_seconds_count{code="403",route="GET /cns/login"}`:     1,
		`cnsgate_http_request_duration_seconds_count{code="200",route="POST /cns/register"}`: 1,
		`cnsgate_http_request_duration_seconds_count{code="303",route="GET /cns/complete"}`:  1,
		`cnsgate_http_request_duration_seconds_count{code="200",route="GET /{$}"}`:           1,
		`cnsgate_http_request_duration_seconds_count{code="200",route="POST /logout"}`:       1,
		`cnsgate_http_request_duration_seconds_count{code="404",route="unmatched"}`:          1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counter deltas differ")
		for k, v := range want {
			if got[k] != v {
				t.Errorf("  %s: got %v, want %v", k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("  unexpected %s: %v", k, v)
			}
		}
	}
	if v, ok := gauge(fams, "cnsgate_crl_entries", "issuer", issuer); !ok || v != 1 {
		t.Errorf("crl_entries{issuer=%q} = %v (present %v), want 1", issuer, v, ok)
	}
	if v, ok := gauge(fams, "cnsgate_crl_age_seconds", "issuer", issuer); !ok || v < 3500 || v > 3700 {
		t.Errorf("crl_age_seconds{issuer=%q} = %v (present %v), want about 3600", issuer, v, ok)
	}
	// No personal data, serial, address or raw path reaches a label.
	for _, leak := range []string{cfGood, cfRevoked, cfUnregistered, "127.0.0.1", "/no/such",
		good.Cert.SerialNumber.Text(16), revoked.Cert.SerialNumber.Text(16), unregistered.Cert.SerialNumber.Text(16)} {
		if strings.Contains(text, leak) {
			t.Errorf("/metrics contains %q", leak)
		}
	}

	// The audit trail holds the same story, oldest first.
	events, err := e.reg.QueryAudit(context.Background(), registry.AuditQuery{Since: start})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for i := len(events) - 1; i >= 0; i-- {
		rows = append(rows, auditRow(events[i]))
	}
	wantRows := []string{
		"login failure not_registered " + cfGood,
		"registration success - " + cfGood,
		"login success - " + cfGood,
		"login failure revoked " + cfRevoked, // whose card it was: the certificate is read though refused
		"login failure not_registered " + cfUnregistered,
		"session_end success - " + cfGood + " cause=logout",
	}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("audit rows:\n  %s\nwant:\n  %s", strings.Join(rows, "\n  "), strings.Join(wantRows, "\n  "))
	}
	for _, ev := range events {
		if ev.FiscalCode != "" && (ev.Issuer != issuer || ev.CardSerial == "") {
			t.Errorf("audit row %s lacks issuer or serial: %+v", auditRow(ev), ev)
		}
	}
	// The default sink writes the log too, fiscal codes masked.
	logs := e.logs.String()
	if n := strings.Count(logs, `"msg":"audit"`); n != len(wantRows) {
		t.Errorf("%d audit log lines, want %d", n, len(wantRows))
	}
	if strings.Contains(logs, cfUnregistered) || !strings.Contains(logs, x509cns.MaskFiscalCode(cfUnregistered)) {
		t.Errorf("audit log does not mask the fiscal code:\n%s", logs)
	}
}

// auditRow summarises an audit event: kind, outcome, reason, fiscal code
// and the end cause.
func auditRow(e registry.Event) string {
	reason := e.Reason
	if reason == "" {
		reason = "-"
	}
	s := fmt.Sprintf("%s %s %s", e.Kind, e.Outcome, reason)
	if e.FiscalCode != "" {
		s += " " + e.FiscalCode
	} else {
		s += " -"
	}
	var d struct{ Cause string }
	if len(e.Detail) > 0 && json.Unmarshal(e.Detail, &d) == nil && d.Cause != "" {
		s += " cause=" + d.Cause
	}
	return s
}
