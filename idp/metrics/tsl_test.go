package metrics_test

import (
	"math"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/x509cns/tslsync"
)

// gathered returns the value of the unlabelled gauge name, or of the
// counter name{outcome}, and whether the family exists.
func gathered(t *testing.T, m *metrics.Metrics, name, outcome string) (float64, bool) {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if outcome != "" && (len(s.GetLabel()) != 1 || s.GetLabel()[0].GetValue() != outcome) {
				continue
			}
			if c := s.GetCounter(); c != nil {
				return c.GetValue(), true
			}
			return s.GetGauge().GetValue(), true
		}
		return 0, true
	}
	return 0, false
}

// TestTSLMetrics: the trusted-list series exist only with Options.TSL;
// the age is +Inf before any list and then counts from the last
// verification at scrape time; every outcome starts at zero and an
// unknown one counts as other.
func TestTSLMetrics(t *testing.T) {
	if _, ok := gathered(t, metrics.New(metrics.Options{}), "cnsgate_trust_tsl_age_seconds", ""); ok {
		t.Fatal("TSL metrics without trust.tsl_url")
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	m := metrics.New(metrics.Options{TSL: true, Now: func() time.Time { return now }})
	if age, _ := gathered(t, m, "cnsgate_trust_tsl_age_seconds", ""); !math.IsInf(age, 1) {
		t.Fatalf("age before any list = %v, want +Inf", age)
	}
	for _, o := range tslsync.Outcomes() {
		if _, ok := gathered(t, m, "cnsgate_trust_tsl_fetch_total", o); !ok {
			t.Errorf("outcome %s does not start at zero", o)
		}
	}
	m.TSLState(now.Add(-90*time.Minute), now.Add(48*time.Hour), 7)
	m.TSLFetch(tslsync.OutcomeTimeout)
	m.TSLFetch("something new")
	for _, c := range []struct {
		name, outcome string
		want          float64
	}{
		{"cnsgate_trust_tsl_age_seconds", "", 5400},
		{"cnsgate_trust_tsl_anchors", "", 7},
		{"cnsgate_trust_tsl_next_update_timestamp_seconds", "", float64(now.Add(48 * time.Hour).Unix())},
		{"cnsgate_trust_tsl_fetch_total", tslsync.OutcomeTimeout, 1},
		{"cnsgate_trust_tsl_fetch_total", metrics.Other, 1},
	} {
		if got, _ := gathered(t, m, c.name, c.outcome); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, c.outcome, got, c.want)
		}
	}
}
