package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/cnsgate/cnsgate/idp"
)

// The two background loops cmd/cnsgate starts beside the listeners: the
// readiness gauge and the audit retention.

// Dependencies named by the readiness gauge cnsgate_ready: the checks of
// the admin listener's /readyz.
const (
	DependencySessions   = "sessions" // Redis (or the memory store)
	DependencyRegistry   = "registry" // the SQL database
	DependencyTrustStore = "trust_store"
	DependencyShutdown   = "shutdown"
)

// SetReady sets cnsgate_ready{dependency} to 1 or 0. dependency is one of
// the Dependency constants; any other name is reported as "other".
func (m *Metrics) SetReady(dependency string, ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	m.ready.WithLabelValues(oneOf(dependency, dependencies)).Set(v)
}

// WatchReadiness runs each check at once and then every interval until ctx
// ends, each within a timeout of min(interval, 2s), and reports the
// results with SetReady. The map's keys are the dependency names.
func (m *Metrics) WatchReadiness(ctx context.Context, interval time.Duration, checks map[string]idp.ReadinessCheck) {
	if interval <= 0 {
		interval = 15 * time.Second
	}
	timeout := min(interval, 2*time.Second)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for name, check := range checks {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			err := check(cctx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			m.SetReady(name, err == nil)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// AuditPurger deletes audit events older than a time; *sqlstore.DB
// implements it.
type AuditPurger interface {
	PurgeAudit(ctx context.Context, before time.Time) (int64, error)
}

// DefaultPurgeInterval is used by PurgeLoop when interval is not positive.
const DefaultPurgeInterval = time.Hour

// PurgeLoop applies audit.retention: it deletes the audit events older
// than retention at once and then every interval, until ctx ends. A
// retention that is not positive keeps events for ever, and PurgeLoop
// returns at once. Failures are logged and retried at the next tick; they
// never stop the loop. Run it in its own goroutine.
func PurgeLoop(ctx context.Context, db AuditPurger, retention, interval time.Duration, logger *slog.Logger) {
	if retention <= 0 || db == nil {
		return
	}
	if interval <= 0 {
		interval = DefaultPurgeInterval
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		before := time.Now().Add(-retention)
		n, err := db.PurgeAudit(ctx, before)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.ErrorContext(ctx, "audit retention: purge failed", "before", before.UTC(), "err", err)
		case n > 0:
			logger.InfoContext(ctx, "audit retention: events purged", "count", n, "before", before.UTC())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// AuditCheckpointer signs the audit chain's head; *sqlstore.DB implements
// it.
type AuditCheckpointer interface {
	Checkpoint(ctx context.Context) (int64, error)
}

// CheckpointLoop signs the audit chain's head every interval (when events
// were written since the last checkpoint), until ctx ends. Failures are
// logged and retried at the next tick. Run it in its own goroutine.
func CheckpointLoop(ctx context.Context, db AuditCheckpointer, interval time.Duration, logger *slog.Logger) {
	if db == nil || interval <= 0 {
		return
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		seq, err := db.Checkpoint(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.ErrorContext(ctx, "audit checkpoint failed", "err", err)
		case seq > 0:
			logger.InfoContext(ctx, "audit checkpoint signed", "seq", seq)
		}
	}
}
