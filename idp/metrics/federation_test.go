package metrics_test

import (
	"testing"

	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/idp/oidc/federation"
)

// TestFederationVocabulary: every result of a trust chain resolution is
// counted under its own label, present at zero from the start.
func TestFederationVocabulary(t *testing.T) {
	m := metrics.New(metrics.Options{})
	name := "cnsgate_federation_resolutions_total"
	if got := series(t, m, name); len(got) != 3 {
		t.Fatalf("%s at start: %v, want the three results at zero", name, got)
	}
	var r federation.Recorder = m
	r.FederationResolution(federation.ResultResolved)
	r.FederationResolution(federation.ResultCached)
	r.FederationResolution(federation.ResultCached)
	r.FederationResolution(federation.ResultRefused)
	r.FederationResolution("bogus")
	got := series(t, m, name)
	for label, want := range map[string]float64{"resolved": 1, "cached": 2, "refused": 1, "other": 1} {
		if v := got[seriesKeyOf(name, "result", label)]; v != want {
			t.Errorf("%s{result=%q} = %v, want %v (%v)", name, label, v, want, got)
		}
	}
}
