package metrics

import (
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cnsgate/cnsgate/x509cns/tslsync"
)

var _ tslsync.Recorder = (*Metrics)(nil)

// tslMetrics are the collectors of the fetched trusted list; nil unless
// Options.TSL.
type tslMetrics struct {
	fetches    *prometheus.CounterVec
	anchors    prometheus.Gauge
	nextUpdate prometheus.Gauge
	verifiedAt atomic.Int64 // Unix nanoseconds; 0: no list yet
}

// TSLFetch counts a fetch of the trusted list by its outcome; an outcome
// outside tslsync.Outcomes counts as "other".
func (m *Metrics) TSLFetch(outcome string) {
	if m.tsl.fetches == nil {
		return
	}
	if !slices.Contains(tslsync.Outcomes(), outcome) {
		outcome = Other
	}
	m.tsl.fetches.WithLabelValues(outcome).Inc()
}

// TSLState records the list in use: when it was last verified, its
// NextUpdate and how many of its CAs are usable anchors.
func (m *Metrics) TSLState(verifiedAt, nextUpdate time.Time, anchors int) {
	if m.tsl.fetches == nil {
		return
	}
	m.tsl.verifiedAt.Store(verifiedAt.UnixNano())
	m.tsl.anchors.Set(float64(anchors))
	next := 0.0
	if !nextUpdate.IsZero() {
		next = float64(nextUpdate.Unix())
	}
	m.tsl.nextUpdate.Set(next)
}

// tslAge is cnsgate_trust_tsl_age_seconds at scrape time.
func (m *Metrics) tslAge() float64 {
	at := m.tsl.verifiedAt.Load()
	if at == 0 {
		return math.Inf(1)
	}
	return m.now().Sub(time.Unix(0, at)).Seconds()
}
