package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/saml"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
)

// series gathers the registry and returns each series of family name by
// key: a counter's or gauge's value, a histogram's sample count.
func series(t *testing.T, m *metrics.Metrics, name string) map[string]float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[seriesKey(name, s)] = s.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[seriesKey(name, s)] = s.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[seriesKey(name, s)] = float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestPreinitialisedSeries(t *testing.T) {
	m := metrics.New(metrics.Options{Version: "1.2.3", Issuers: []string{"CA A", "CA B"},
		Clients: []string{"esenzioni"}, ServiceProviders: []string{"https://cms.example/sp"}})
	tests := []struct {
		name   string
		metric string
		count  int
	}{
		{"ok/every-refusal-reason-and-success", "cnsgate_login_attempts_total", len(x509cns.Reasons()) + 1},
		{"ok/registration-outcomes", "cnsgate_registrations_total", 2},
		{"ok/session-end-causes", "cnsgate_sessions_ended_total", 8}, // and consent_withdrawn, unregistered
		{"ok/account-actions", "cnsgate_account_actions_total", 4},
		{"ok/revocation-method-by-result", "cnsgate_revocation_checks_total", 9},
		{"ok/oidc-kinds-and-saml-assertion", "cnsgate_tokens_issued_total", 3 + 1},
		{"ok/notification-kind-by-result", "cnsgate_logout_notifications_total", 3 * 2}, // oidc_backchannel, saml, saml_frontchannel
		{"ok/saml-refusal-reasons", "cnsgate_saml_requests_refused_total", len(saml.RefusalReasons)},
		{"ok/crl-failures-per-issuer", "cnsgate_crl_refresh_failures_total", 2},
		{"ok/no-crl-age-before-a-crl", "cnsgate_crl_age_seconds", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := series(t, m, tc.metric)
			if len(got) != tc.count {
				t.Errorf("%d series, want %d: %v", len(got), tc.count, got)
			}
			for k, v := range got {
				if v != 0 {
					t.Errorf("%s = %v, want 0", k, v)
				}
			}
		})
	}
	info := series(t, m, "cnsgate_build_info")
	if want := seriesKeyOf("cnsgate_build_info", "version", "1.2.3", "goversion", runtime.Version()); info[want] != 1 {
		t.Errorf("build info %v, want %s 1", info, want)
	}
}

// TestBoundedLabels: values outside a label's set are counted as "other".
func TestBoundedLabels(t *testing.T) {
	m := metrics.New(metrics.Options{Issuers: []string{"Regione Toscana - CA Cittadini"}, Clients: []string{"esenzioni"}})
	m.TokenIssued(metrics.TokenID, "esenzioni")
	m.TokenIssued(metrics.TokenID, "RSSMRA85T10A562S") // a client id nobody configured
	m.TokenIssued("bearer_of_bad_news", "esenzioni")
	m.LogoutNotification("carrier_pigeon", "maybe")
	m.SessionEnded("cosmic_ray")
	m.LoginAttempt(idp.OutcomeFailure, x509cns.Reason("made_up"))
	m.LoginAttempt("perhaps", x509cns.ReasonExpired)
	m.Registration("perhaps")
	m.CheckDone(revocation.Method("ldap"), revocation.StatusGood)
	m.CRLState("Rogue CA", time.Minute, 7)
	m.CRLRefreshFailed("Rogue CA")
	m.SetReady("10.0.0.7:6379", false)

	checks := []struct{ metric, key string }{
		{"cnsgate_tokens_issued_total", seriesKeyOf("cnsgate_tokens_issued_total", "kind", metrics.TokenID, "client", "esenzioni")},
		{"cnsgate_tokens_issued_total", seriesKeyOf("cnsgate_tokens_issued_total", "kind", metrics.TokenID, "client", "other")},
		{"cnsgate_tokens_issued_total", seriesKeyOf("cnsgate_tokens_issued_total", "kind", "other", "client", "esenzioni")},
		{"cnsgate_logout_notifications_total", seriesKeyOf("cnsgate_logout_notifications_total", "kind", "other", "result", "other")},
		{"cnsgate_sessions_ended_total", seriesKeyOf("cnsgate_sessions_ended_total", "cause", "other")},
		{"cnsgate_login_attempts_total", seriesKeyOf("cnsgate_login_attempts_total", "outcome", "failure", "reason", "other")},
		{"cnsgate_login_attempts_total", seriesKeyOf("cnsgate_login_attempts_total", "outcome", "other", "reason", "expired")},
		{"cnsgate_registrations_total", seriesKeyOf("cnsgate_registrations_total", "outcome", "other")},
		{"cnsgate_revocation_checks_total", seriesKeyOf("cnsgate_revocation_checks_total", "method", "other", "result", "good")},
		{"cnsgate_crl_entries", seriesKeyOf("cnsgate_crl_entries", "issuer", "other")},
		{"cnsgate_crl_refresh_failures_total", seriesKeyOf("cnsgate_crl_refresh_failures_total", "issuer", "other")},
		{"cnsgate_ready", seriesKeyOf("cnsgate_ready", "dependency", "other")},
	}
	for _, c := range checks {
		got := series(t, m, c.metric)
		want := 1.0
		if c.metric == "cnsgate_crl_entries" {
			want = 7
		}
		if c.metric == "cnsgate_ready" {
			want = 0
		}
		if v, ok := got[c.key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v; all: %v", c.key, v, ok, want, got)
		}
	}
	for _, name := range []string{"cnsgate_tokens_issued_total", "cnsgate_crl_entries", "cnsgate_ready"} {
		for k := range series(t, m, name) {
			for _, leak := range []string{"RSSMRA85T10A562S", "Rogue", "10.0.0.7", "bearer", "pigeon"} {
				if strings.Contains(k, leak) {
					t.Errorf("label leaks %q: %s", leak, k)
				}
			}
		}
	}
}

// TestIssuerSet: the issuer set is capped, and replacing it drops the
// gauges of issuers that left it.
func TestIssuerSet(t *testing.T) {
	var names []string
	for i := range 300 {
		names = append(names, fmt.Sprintf("CA %03d", i))
	}
	m := metrics.New(metrics.Options{Issuers: names})
	if n := len(series(t, m, "cnsgate_crl_refresh_failures_total")); n != metrics.DefaultMaxIssuers {
		t.Errorf("%d issuer series, want the cap %d", n, metrics.DefaultMaxIssuers)
	}
	m.CRLState("CA 299", time.Hour, 1) // past the cap (sorted): other
	m.CRLState("CA 000", time.Hour, 1)
	m.CRLState("CA 001", time.Hour, 1)
	m.SetIssuers([]string{"CA 000", "CA 500"})
	got := series(t, m, "cnsgate_crl_age_seconds")
	want := map[string]float64{
		seriesKeyOf("cnsgate_crl_age_seconds", "issuer", "CA 000"): 3600,
		seriesKeyOf("cnsgate_crl_age_seconds", "issuer", "other"):  3600,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("crl_age after SetIssuers: %v, want %v", got, want)
	}
	if n := len(series(t, m, "cnsgate_crl_refresh_failures_total")); n != 2 {
		t.Errorf("%d crl failure series after SetIssuers, want 2", n)
	}
}

func TestInstrument(t *testing.T) {
	m := metrics.New(metrics.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints) // informational: not the status
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the instrumented writer: %v", err)
		}
	})
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	h := m.Instrument(mux)
	serve := func(method, path string) {
		defer func() { _ = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, nil))
	}
	serve("GET", "/items/RSSMRA85T10A562S")
	serve("GET", "/items/42")
	serve("GET", "/stream")
	serve("POST", "/items/42") // 405 from the mux
	serve("GET", "/nothing/here")
	serve("GET", "/boom")
	// Request-copying middleware inside Instrument hides the pattern.
	m.Instrument(idp.WithRequestInfo(mux)).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/7", nil))

	name := "cnsgate_http_request_duration_seconds"
	want := map[string]float64{
		seriesKeyOf(name, "route", "GET /items/{id}", "code", "201"): 2,
		seriesKeyOf(name, "route", "GET /stream", "code", "200"):     1,
		seriesKeyOf(name, "route", "unmatched", "code", "405"):       1,
		seriesKeyOf(name, "route", "unmatched", "code", "404"):       1,
		seriesKeyOf(name, "route", "GET /boom", "code", "500"):       1,
		seriesKeyOf(name, "route", "unmatched", "code", "201"):       1,
	}
	if got := series(t, m, name); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("http series:\n got %v\nwant %v", got, want)
	}
}

// TestInstrumentRootAndNotFound: over the network, a handler of "/" is
// labelled "/", and the 404 page mounted on idp.NotFoundPattern (as both
// origins of the login service mount it) is labelled "unmatched", beside a
// real route.
func TestInstrumentRootAndNotFound(t *testing.T) {
	m := metrics.New(metrics.Options{})
	root := http.NewServeMux()
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("root")) })
	withPage := http.NewServeMux()
	withPage.HandleFunc(idp.NotFoundPattern, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	withPage.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("home")) })
	for _, mux := range []*http.ServeMux{root, withPage} {
		srv := httptest.NewServer(m.Instrument(mux))
		for _, path := range []string{"/", "/no/such/page"} {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		srv.Close()
	}
	name := "cnsgate_http_request_duration_seconds"
	want := map[string]float64{
		seriesKeyOf(name, "route", "/", "code", "200"):         2,
		seriesKeyOf(name, "route", "GET /{$}", "code", "200"):  1,
		seriesKeyOf(name, "route", "unmatched", "code", "404"): 1,
	}
	if got := series(t, m, name); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("http series:\n got %v\nwant %v", got, want)
	}
}

// TestOIDCVocabulary: what idp/oidc and idp/saml pass is counted under
// its own name, not as "other", so the dashboard and alert rules see it.
func TestOIDCVocabulary(t *testing.T) {
	m := metrics.New(metrics.Options{Clients: []string{"esenzioni"}})
	var r oidc.Recorder = m
	for _, kind := range []string{oidc.TokenID, oidc.TokenAccess, oidc.TokenRefresh} {
		r.TokenIssued(kind, "esenzioni")
	}
	var rr oidc.ReuseRecorder = m
	rr.RefreshReused("esenzioni", oidc.ReuseGraced)
	rr.RefreshReused("esenzioni", oidc.ReuseRevoked)
	var cr oidc.CORSRecorder = m
	for _, e := range []string{oidc.EndpointDiscovery, oidc.EndpointJWKS, oidc.EndpointToken, oidc.EndpointUserinfo, oidc.EndpointRevoke, oidc.EndpointIntrospect} {
		cr.CORSRefused(e)
	}
	var lr idp.LogoutRecorder = m
	lr.LogoutNotification(oidc.NotificationBackchannel, oidc.ResultOK)
	lr.LogoutNotification(oidc.NotificationBackchannel, oidc.ResultFailed)
	var sr saml.Recorder = m
	sr.TokenIssued(saml.TokenAssertion, "esenzioni")
	lr.LogoutNotification(saml.NotificationSAML, saml.ResultOK)
	lr.LogoutNotification(idp.DeliverySAMLFrontChannel, saml.ResultOK)
	sref, ok := sr.(saml.RefusalRecorder)
	if !ok {
		t.Fatal("Metrics does not count SAML refusals")
	}
	for _, reason := range saml.RefusalReasons {
		sref.SAMLRequestRefused(reason)
	}
	for name, want := range map[string]float64{
		"cnsgate_tokens_issued_total": 4, "cnsgate_logout_notifications_total": 4,
		"cnsgate_refresh_token_reuse_total": 2, "cnsgate_cors_refused_total": 6,
		"cnsgate_saml_requests_refused_total": float64(len(saml.RefusalReasons)),
	} {
		total := 0.0
		for k, v := range series(t, m, name) {
			total += v
			if strings.Contains(k, `"other"`) && v != 0 {
				t.Errorf("%s = %v: idp/oidc's vocabulary is not in the label set", k, v)
			}
		}
		if total != want {
			t.Errorf("%s: %v counted, want %v", name, total, want)
		}
	}
}

func TestWatchReadiness(t *testing.T) {
	m := metrics.New(metrics.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.WatchReadiness(ctx, 10*time.Millisecond, map[string]idp.ReadinessCheck{
			metrics.DependencySessions: func(context.Context) error { return nil },
			metrics.DependencyRegistry: func(context.Context) error { return errors.New("connection refused") },
		})
	}()
	want := map[string]float64{
		seriesKeyOf("cnsgate_ready", "dependency", "sessions"): 1,
		seriesKeyOf("cnsgate_ready", "dependency", "registry"): 0,
	}
	deadline := time.Now().Add(10 * time.Second)
	for fmt.Sprint(series(t, m, "cnsgate_ready")) != fmt.Sprint(want) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if got := series(t, m, "cnsgate_ready"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ready: %v, want %v", got, want)
	}
}

// TestAuditGroupCommit: the registry's group commit reports its queue and
// its batches (sqlstore.BatchObserver).
func TestAuditGroupCommit(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.AuditQueueDepth(7)
	m.AuditBatch(3)
	m.AuditBatch(30)
	if got := series(t, m, "cnsgate_audit_queue_depth"); got["cnsgate_audit_queue_depth"] != 7 {
		t.Errorf("cnsgate_audit_queue_depth = %v, want 7", got)
	}
	if got := series(t, m, "cnsgate_audit_batch_size"); got["cnsgate_audit_batch_size"] != 2 {
		t.Errorf("cnsgate_audit_batch_size samples = %v, want 2", got)
	}
	m.AuditQueueDepth(0)
	if got := series(t, m, "cnsgate_audit_queue_depth"); got["cnsgate_audit_queue_depth"] != 0 {
		t.Errorf("cnsgate_audit_queue_depth after the queue emptied = %v, want 0", got)
	}
}
