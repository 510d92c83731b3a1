package idp

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// auditWriter stores audit events so that none is lost to a browser that
// leaves mid-request or to a database that hangs: each write runs detached
// from the request's cancellation (context.WithoutCancel) under a deadline
// of its own, and an event whose write fails goes to a bounded queue,
// retried with backoff until it is stored; when that queue is full the
// request waits for room, the event is never dropped. The store itself
// batches the writes of concurrent requests into one commit
// (idp/registry/sqlstore's group commit). Service.Close flushes the queue;
// what the store still refuses then is logged whole (fiscal code masked),
// never silently dropped.
type auditWriter struct {
	store   Auditor
	timeout time.Duration
	logger  *slog.Logger
	backoff func(retry int) time.Duration
	after   func(time.Duration) <-chan time.Time

	queue    chan registry.Event
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// auditRetryQueue bounds the events waiting for a database that fails.
const auditRetryQueue = 10000

func newAuditWriter(store Auditor, timeout time.Duration, logger *slog.Logger) *auditWriter {
	w := &auditWriter{store: store, timeout: timeout, logger: logger,
		backoff: ExponentialBackoff(100*time.Millisecond, 5*time.Second), after: time.After,
		queue: make(chan registry.Event, auditRetryQueue), stop: make(chan struct{})}
	w.wg.Add(1)
	go w.retryLoop()
	return w
}

// write stores e now, or queues it for a retry when the store fails.
func (w *auditWriter) write(ctx context.Context, e registry.Event) {
	err := w.try(context.WithoutCancel(ctx), e)
	if err == nil || errors.Is(err, registry.ErrInvalidEvent) {
		if err != nil {
			w.logger.ErrorContext(ctx, "audit event refused by the store", "event", e, "err", err)
		}
		return
	}
	w.logger.WarnContext(ctx, "audit event not stored yet; retrying", "kind", e.Kind, "err", err)
	select {
	case w.queue <- e:
		return
	default:
	}
	// Full: the request waits for room (backpressure) rather than drop
	// the event; only shutdown ends the wait, and close logs it whole.
	w.logger.WarnContext(ctx, "audit retry queue full; waiting for room", "kind", e.Kind)
	select {
	case w.queue <- e:
	case <-w.stop:
		w.logger.ErrorContext(ctx, "audit event not stored at shutdown: the store did not take it", "event", e)
	}
}

func (w *auditWriter) try(ctx context.Context, e registry.Event) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	return w.store.AppendAudit(ctx, e)
}

// retryLoop writes the queued events in order, each until it is stored,
// waiting longer after each failure, until close begins.
func (w *auditWriter) retryLoop() {
	defer w.wg.Done()
	for {
		select {
		case <-w.stop:
			return
		case e := <-w.queue:
			if !w.retry(e) {
				w.requeue(e)
				return
			}
		}
	}
}

// retry writes e until it is stored (true) or close begins (false).
func (w *auditWriter) retry(e registry.Event) bool {
	for n := 1; ; n++ {
		err := w.try(context.Background(), e)
		if err == nil || errors.Is(err, registry.ErrInvalidEvent) {
			if err == nil {
				w.logger.Info("audit event stored after retry", "kind", e.Kind, "attempts", n)
			}
			return true
		}
		select {
		case <-w.stop:
			return false
		case <-w.after(w.backoff(n)):
		}
	}
}

// requeue puts back an event close interrupted, for flush to try.
func (w *auditWriter) requeue(e registry.Event) {
	select {
	case w.queue <- e:
	default:
		w.logger.Error("audit event lost: retry queue full", "event", e)
	}
}

// close stops the retries and makes one more attempt at every queued
// event, until ctx ends; the events still not stored are logged.
func (w *auditWriter) close(ctx context.Context) error {
	w.stopOnce.Do(func() { close(w.stop) })
	w.wg.Wait()
	var lost int
	for {
		select {
		case e := <-w.queue:
			if ctx.Err() != nil || w.try(ctx, e) != nil {
				lost++
				w.logger.Error("audit event lost at shutdown: the store did not take it", "event", e)
			}
		default:
			if lost > 0 {
				return errors.New("audit events not stored at shutdown; they are in the log")
			}
			return nil
		}
	}
}
