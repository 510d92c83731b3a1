package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/tslsync"
)

// readTSLSigner reads trust.tsl_signer_file; nil when it is not set.
func readTSLSigner(t config.Trust) (*x509.Certificate, error) {
	if t.TSLSignerFile == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(t.TSLSignerFile)
	if err != nil {
		return nil, fmt.Errorf("trust: tsl_signer_file: %w", err)
	}
	certs, err := x509cns.ParseCertificates(raw)
	if err != nil {
		return nil, fmt.Errorf("trust: tsl_signer_file: %w", err)
	}
	return certs[0], nil
}

// newTSLSyncer makes the syncer of trust.tsl_url (nil when it is not set).
func newTSLSyncer(t config.Trust, o tslsync.Options) (*tslsync.Syncer, error) {
	if t.TSLURL == "" {
		return nil, nil
	}
	signer, err := readTSLSigner(t)
	if err != nil {
		return nil, err
	}
	o.URL, o.Signer, o.CacheFile = t.TSLURL, signer, t.TSLCacheFile
	o.Refresh, o.Timeout, o.MaxBytes = t.TSLRefresh.Std(), t.TSLFetchTimeout.Std(), t.TSLMaxBytes
	s, err := tslsync.New(o)
	if err != nil {
		return nil, fmt.Errorf("trust: tsl_url: %w", err)
	}
	return s, nil
}

// cachedTSL is the list of trust.tsl_cache_file, verified, for the
// commands that do not fetch (check-config, inspect); nil when there is
// none or it does not verify.
func cachedTSL(t config.Trust) *tslsync.List {
	s, err := newTSLSyncer(t, tslsync.Options{})
	if s == nil || err != nil {
		return nil
	}
	if ok, err := s.LoadCache(); !ok || err != nil {
		return nil
	}
	return s.Current()
}

// buildTSL makes the syncer of trust.tsl_url and gets its first list: the
// cache file's when it verifies, else one fetch now (bounded by
// tsl_fetch_timeout). A start without a list is not refused here: other
// anchors may serve, and loadTrust refuses a store with none.
func (g *gateway) buildTSL(ctx context.Context) error {
	g.tslRec = &tslRecorder{}
	s, err := newTSLSyncer(g.cfg.Trust, tslsync.Options{Logger: g.logger, Recorder: g.tslRec, OnUpdate: g.tslUpdated})
	if s == nil || err != nil {
		return err
	}
	g.syncer = s
	switch ok, err := s.LoadCache(); {
	case err != nil:
		g.logger.Error("trusted list cache refused; fetching the list", "err", err)
	case ok:
		l := s.Current()
		g.logger.Info("trusted list loaded from the cache", "file", g.cfg.Trust.TSLCacheFile, "sequence", l.Scheme.SequenceNumber,
			"verified_at", l.VerifiedAt, "next_update", l.Scheme.NextUpdate)
		return nil
	}
	if err := s.Fetch(ctx); err != nil {
		g.logger.Error("trusted list not available at start; serving with the other anchors, retrying", "url", g.cfg.Trust.TSLURL, "err", err)
	}
	return nil
}

// startTSL runs the schedule: at once when the list came from the cache
// or could not be had, else after tsl_refresh.
func (g *gateway) startTSL() {
	if g.syncer == nil {
		return
	}
	first := time.Duration(0)
	if l := g.syncer.Current(); l != nil && l.Source == "url" {
		first = g.cfg.Trust.TSLRefresh.Std()
	}
	g.goLoop(func(ctx context.Context) { g.syncer.Run(ctx, first) })
}

// tslUpdated rebuilds the trust store with a new list, by the path SIGHUP
// takes, from the trust section in use; the outcome is audited.
func (g *gateway) tslUpdated(l *tslsync.List) {
	if g.front == nil { // the first list, fetched by buildTSL: buildTrust takes it
		return
	}
	ts, err := g.swapTrust(g.trustConfig(), "tsl_url")
	detail := map[string]any{"part": "trust", "source": "tsl_url", "sequence": l.Scheme.SequenceNumber}
	ev := registry.Event{Kind: registry.KindConfigReload, Outcome: registry.OutcomeSuccess}
	if err != nil {
		ev.Outcome, ev.Reason = registry.OutcomeFailure, "invalid"
		detail["error"] = err.Error()
	} else {
		detail["anchors"] = ts.store.Len()
	}
	ev.Detail, _ = json.Marshal(detail)
	g.svc.Audit(context.Background(), ev)
}

// tslRecorder passes the syncer's counts to the metrics, built after the
// first list is had: what comes before is kept and replayed.
type tslRecorder struct {
	mu      sync.Mutex
	m       *metrics.Metrics
	pending []string
	state   func(*metrics.Metrics)
}

func (r *tslRecorder) attach(m *metrics.Metrics) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m = m
	for _, o := range r.pending {
		m.TSLFetch(o)
	}
	if r.state != nil {
		r.state(m)
	}
	r.pending, r.state = nil, nil
}

func (r *tslRecorder) TSLFetch(outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.pending = append(r.pending, outcome)
		return
	}
	r.m.TSLFetch(outcome)
}

func (r *tslRecorder) TSLState(verifiedAt, nextUpdate time.Time, anchors int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.state = func(m *metrics.Metrics) { m.TSLState(verifiedAt, nextUpdate, anchors) }
		return
	}
	r.m.TSLState(verifiedAt, nextUpdate, anchors)
}
