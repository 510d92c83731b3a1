package metrics_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
	"github.com/cnsgate/cnsgate/x509cns/tslsync"
)

const deployDir = "../../deploy"

// contractMetrics are the metric names of DESIGN.md's Contract.
var contractMetrics = []string{
	"cnsgate_login_attempts_total", "cnsgate_registrations_total", "cnsgate_cert_validation_seconds",
	"cnsgate_revocation_checks_total", "cnsgate_crl_age_seconds", "cnsgate_crl_entries",
	"cnsgate_sessions_created_total", "cnsgate_sessions_ended_total", "cnsgate_tokens_issued_total",
	"cnsgate_logout_notifications_total", "cnsgate_http_request_duration_seconds",
}

// exposed scrapes a Metrics on which every method has been called once,
// so that every vector has a series, and returns, for each family, the
// values each label takes.
func exposed(t *testing.T) map[string]map[string]map[string]bool {
	t.Helper()
	m := metrics.New(metrics.Options{Version: "test", Issuers: []string{"CA"}, Clients: []string{"rp"}, TSL: true})
	m.TSLFetch(tslsync.OutcomeBadSignature)
	m.TSLState(time.Now(), time.Now().Add(time.Hour), 3)
	m.LoginAttempt(idp.OutcomeFailure, x509cns.ReasonExpired)
	m.Registration(idp.OutcomeSuccess)
	m.SessionCreated()
	m.SessionEnded(idp.CauseIdle)
	m.CertValidation(time.Millisecond)
	m.ProxySpoof()
	m.RateLimited("/authorize")
	m.CheckDone(revocation.MethodOCSP, revocation.StatusGood)
	m.CRLState("CA", time.Hour, 3)
	m.CRLRefreshFailed("CA")
	m.TokenIssued(metrics.TokenID, "rp")
	m.LogoutNotification(metrics.NotifyOIDCBackChannel, metrics.NotifyFailed)
	m.SAMLRequestRefused("replay")
	for _, d := range []string{metrics.DependencySessions, metrics.DependencyRegistry, metrics.DependencyTrustStore, metrics.DependencyShutdown} {
		m.SetReady(d, true)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	rec := httptest.NewRecorder()
	m.Instrument(mux).ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]map[string]bool{}
	for name, f := range fams {
		labels := map[string]map[string]bool{}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if labels[l.GetName()] == nil {
					labels[l.GetName()] = map[string]bool{}
				}
				labels[l.GetName()][l.GetValue()] = true
			}
		}
		out[name] = labels
	}
	return out
}

// selectorRE finds a metric with its label matchers; matcherRE one
// equality or inequality matcher.
var (
	selectorRE = regexp.MustCompile(`(cnsgate_[a-z_]+)\{([^}]*)\}`)
	matcherRE  = regexp.MustCompile(`([a-z_]+)\s*(?:=|!=)\s*"([^"]*)"`)
)

// boundedLabels are the labels whose values are fixed in code (not
// configuration or data), so a query can only name one of them.
var boundedLabels = map[string]bool{"outcome": true, "reason": true, "result": true, "method": true,
	"cause": true, "kind": true, "dependency": true}

// unknownValues returns the matchers of expr that compare a bounded label
// with a value the registry never uses.
func unknownValues(expr string, exposed map[string]map[string]map[string]bool) []string {
	var bad []string
	for _, sel := range selectorRE.FindAllStringSubmatch(expr, -1) {
		family := metricNames(sel[1])[0]
		for _, mt := range matcherRE.FindAllStringSubmatch(sel[2], -1) {
			if boundedLabels[mt[1]] && !exposed[family][mt[1]][mt[2]] {
				bad = append(bad, fmt.Sprintf("%s{%s=%q}", family, mt[1], mt[2]))
			}
		}
	}
	return bad
}

// metricRE finds cnsgate metric names in PromQL: not inside a quoted
// label value (no quote, letter or digit before the match).
var metricRE = regexp.MustCompile(`(?:^|[^A-Za-z0-9_:"])(cnsgate_[a-z_]+)`)

// metricNames returns the metric families named by a PromQL expression,
// with the _bucket, _sum and _count series of histograms folded in.
func metricNames(expr string) []string {
	var out []string
	for _, m := range metricRE.FindAllStringSubmatch(expr, -1) {
		n := m[1]
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if strings.HasSuffix(n, suffix) {
				n = strings.TrimSuffix(n, suffix)
				break
			}
		}
		out = append(out, n)
	}
	return out
}

// dashboardExprs returns every query of the Grafana dashboard: panel
// target expressions and templating queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deployDir, "grafana", "cnsgate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID       string `json:"uid"`
		Title     string `json:"title"`
		Templates struct {
			List []struct{ Query any } `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int
			Type    string
			Title   string
			GridPos struct{ H, W int } `json:"gridPos"`
			Targets []struct{ Expr, RefID string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	if dash.UID == "" || dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatalf("not a Grafana dashboard: uid %q title %q, %d panels", dash.UID, dash.Title, len(dash.Panels))
	}
	var exprs []string
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] || p.Title == "" || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %d %q: duplicate id, no title or no size", p.ID, p.Title)
		}
		ids[p.ID] = true
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templates.List {
		if q, ok := v.Query.(string); ok {
			exprs = append(exprs, q)
		}
	}
	return exprs
}

// alertExprs returns the rule expressions of alerts.yml and the input
// series of its promtool unit tests.
func alertExprs(t *testing.T) []string {
	t.Helper()
	var exprs []string
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	readYAML(t, "alerts.yml", &rules)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("rule %+v lacks a name or an expression", r)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	var tests struct {
		Tests []struct {
			InputSeries []struct{ Series string } `yaml:"input_series"`
		}
	}
	readYAML(t, "alerts_test.yml", &tests)
	for _, tc := range tests.Tests {
		for _, s := range tc.InputSeries {
			exprs = append(exprs, s.Series)
		}
	}
	return exprs
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deployDir, "prometheus", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestDeployNamesExist: every metric the dashboard and the alert rules
// query is one the registry exposes, every fixed label value they compare
// with is one it uses, and the dashboard shows every Contract metric.
func TestDeployNamesExist(t *testing.T) {
	exposed := exposed(t)
	for _, src := range []struct {
		file  string
		exprs []string
	}{
		{"deploy/grafana/cnsgate.json", dashboardExprs(t)},
		{"deploy/prometheus/alerts.yml", alertExprs(t)},
	} {
		used := map[string]bool{}
		for _, e := range src.exprs {
			for _, n := range metricNames(e) {
				used[n] = true
			}
			if bad := unknownValues(e, exposed); len(bad) > 0 {
				t.Errorf("%s compares labels with values the registry never uses: %v", src.file, bad)
			}
		}
		if len(used) == 0 {
			t.Errorf("%s names no cnsgate metric", src.file)
		}
		var missing []string
		for n := range used {
			if exposed[n] == nil {
				missing = append(missing, n)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s queries metrics the registry does not expose: %v", src.file, missing)
		}
		if src.file == "deploy/grafana/cnsgate.json" {
			for _, n := range contractMetrics {
				if !used[n] {
					t.Errorf("the dashboard does not show %s", n)
				}
			}
		}
	}
	for _, n := range append(contractMetrics, "cnsgate_build_info", "cnsgate_proxy_header_spoof_total",
		"cnsgate_crl_refresh_failures_total", "cnsgate_ready", "go_goroutines", "process_cpu_seconds_total") {
		if exposed[n] == nil {
			t.Errorf("registry lacks %s", n)
		}
	}
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name, expr string
		want       []string
	}{
		{"ok/histogram-bucket", `histogram_quantile(0.9, sum by (le) (rate(cnsgate_cert_validation_seconds_bucket[5m])))`, []string{"cnsgate_cert_validation_seconds"}},
		{"ok/ratio", `sum(cnsgate_a_total{x="cnsgate_not_a_metric"}) / sum(cnsgate_b_count)`, []string{"cnsgate_a_total", "cnsgate_b"}},
		{"ok/at-start", `cnsgate_ready == 0`, []string{"cnsgate_ready"}},
		{"ok/none", `up{job="cnsgate"} == 0`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := metricNames(tc.expr); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("metricNames(%q) = %v, want %v", tc.expr, got, tc.want)
			}
		})
	}
}
