package metrics

import "github.com/cnsgate/cnsgate/idp/oidc/federation"

var _ federation.Recorder = (*Metrics)(nil)

// fedResults are the results of a federated relying party's resolution.
var fedResults = []string{federation.ResultResolved, federation.ResultCached, federation.ResultRefused}

// FederationResolution counts one resolution of a federated relying
// party's trust chain; results outside fedResults count as "other".
func (m *Metrics) FederationResolution(result string) {
	m.fedResolutions.WithLabelValues(oneOf(result, fedResults)).Inc()
}

// zeroFederation makes every result's series exist at zero.
func (m *Metrics) zeroFederation() {
	for _, r := range fedResults {
		m.fedResolutions.WithLabelValues(r)
	}
}
