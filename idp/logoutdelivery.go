package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
)

// Kinds and results of a logout delivery: the labels of
// cnsgate_logout_notifications_total.
const (
	DeliveryOIDCBackchannel = "oidc_backchannel" // a logout token POSTed to a client's backchannel_logout_uri
	DeliverySAML            = "saml"             // a SOAP LogoutRequest to an SP
	// DeliverySAMLFrontChannel is a LogoutRequest carried to an SP by the
	// citizen's browser (HTTP-Redirect or HTTP-POST), its LogoutResponse
	// collected on the way back; reported with ReportDelivery.
	DeliverySAMLFrontChannel = "saml_frontchannel"
	DeliveryOK               = "ok"
	DeliveryFailed           = "failed"
)

// Errors recorded for deliveries the engine could not make.
var (
	ErrDeliveryQueueFull = errors.New("logout delivery queue full")
	ErrDeliveryClosed    = errors.New("logout delivery engine shutting down")
	ErrDeliveryAbandoned = errors.New("logout delivery abandoned at shutdown")
	ErrDeliveryDeadline  = errors.New("logout delivery deadline passed")
)

// LogoutDelivery is one message telling a relying party that a session
// ended. The protocol packages build it (what to send, how to read the
// answer); the engine decides when and how often to send it.
type LogoutDelivery struct {
	Kind    string            // DeliveryOIDCBackchannel or DeliverySAML
	Client  string            // OIDC client id or SAML SP entity id
	Session *sessions.Session // the ended session, for the audit trail
	// Attempt sends the message once; retry reports whether another attempt
	// may succeed (a network error, a 5xx or 429 answer). A nil error is
	// delivered.
	Attempt func(ctx context.Context) (retry bool, err error)
}

// StatusOutcome classifies an HTTP answer of a relying party: 2xx is
// delivered, 5xx and 429 may be retried, anything else (a 4xx) is final.
func StatusOutcome(code int) (retry bool, err error) {
	switch {
	case code >= 200 && code < 300:
		return false, nil
	case code >= 500 || code == 429:
		return true, fmt.Errorf("status %d", code)
	}
	return false, fmt.Errorf("refused with status %d", code)
}

// LogoutRecorder counts logout deliveries; idp/metrics implements it. The
// engine finds it on Deps.Recorder by type assertion.
type LogoutRecorder interface {
	LogoutNotification(kind, result string)
}

// DeliveryOptions tune the logout-delivery engine; zero values take the
// defaults.
type DeliveryOptions struct {
	Workers  int // deliveries made at once (default 4)
	Queue    int // deliveries waiting for a worker (default 1024)
	Attempts int // attempts of one delivery (default 4)
	// Deadline bounds one delivery, all its attempts and waits (default
	// 1 min); AttemptTimeout bounds each attempt (default 10 s).
	Deadline       time.Duration
	AttemptTimeout time.Duration
	// Backoff is the wait before retry n (1, 2, ...); default 1 s doubled
	// at each retry, at most 30 s.
	Backoff func(retry int) time.Duration
	// After waits; default time.After.
	After func(time.Duration) <-chan time.Time
}

// ExponentialBackoff waits first, then twice as long at each retry, never
// more than max.
func ExponentialBackoff(first, max time.Duration) func(int) time.Duration {
	return func(retry int) time.Duration {
		d := first
		for i := 1; i < retry && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}

func (o DeliveryOptions) withDefaults() DeliveryOptions {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Queue <= 0 {
		o.Queue = 1024
	}
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Deadline <= 0 {
		o.Deadline = time.Minute
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 10 * time.Second
	}
	if o.Backoff == nil {
		o.Backoff = ExponentialBackoff(time.Second, 30*time.Second)
	}
	if o.After == nil {
		o.After = time.After
	}
	return o
}

// DeliveryResult is how one delivery ended, as the engine reports it.
type DeliveryResult struct {
	Delivery LogoutDelivery
	Attempts int   // 0 when it was never sent
	Err      error // nil when delivered
}

// LogoutEngine sends logout deliveries from a bounded queue with a fixed
// set of workers, retrying with backoff within a deadline. Every delivery
// ends in exactly one report: delivered, refused, out of attempts or time,
// dropped because the queue was full or the engine closing, or abandoned
// at shutdown.
type LogoutEngine struct {
	opts   DeliveryOptions
	report func(DeliveryResult)

	mu     sync.Mutex
	closed bool
	queue  chan LogoutDelivery
	wg     sync.WaitGroup
	base   context.Context
	cancel context.CancelFunc
}

// NewLogoutEngine starts the workers; report is called once per delivery,
// from a worker or from Enqueue.
func NewLogoutEngine(o DeliveryOptions, report func(DeliveryResult)) *LogoutEngine {
	o = o.withDefaults()
	e := &LogoutEngine{opts: o, report: report, queue: make(chan LogoutDelivery, o.Queue)}
	e.base, e.cancel = context.WithCancel(context.Background())
	for range o.Workers {
		e.wg.Add(1)
		go e.work()
	}
	return e
}

// Enqueue hands a delivery to the workers without waiting: when the queue
// is full or the engine closing, the delivery is reported failed at once.
func (e *LogoutEngine) Enqueue(d LogoutDelivery) {
	e.mu.Lock()
	var err error
	if e.closed {
		err = ErrDeliveryClosed
	} else {
		select {
		case e.queue <- d:
		default:
			err = ErrDeliveryQueueFull
		}
	}
	e.mu.Unlock()
	if err != nil {
		e.report(DeliveryResult{Delivery: d, Err: err})
	}
}

// Close stops taking deliveries and waits for the queued and running ones
// until ctx ends; those still pending then are abandoned (and reported so)
// and Close returns ctx's error.
func (e *LogoutEngine) Close(ctx context.Context) error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.queue)
	}
	e.mu.Unlock()
	done := Done(&e.wg)
	select {
	case <-done:
		e.cancel()
		return nil
	case <-ctx.Done():
		e.cancel()
		<-done
		return ctx.Err()
	}
}

func (e *LogoutEngine) work() {
	defer e.wg.Done()
	for d := range e.queue {
		if e.base.Err() != nil {
			e.report(DeliveryResult{Delivery: d, Err: ErrDeliveryAbandoned})
			continue
		}
		n, err := e.deliver(d)
		e.report(DeliveryResult{Delivery: d, Attempts: n, Err: err})
	}
}

// deliver makes the attempts of one delivery and returns how many it made
// and the last error.
func (e *LogoutEngine) deliver(d LogoutDelivery) (int, error) {
	ctx, cancel := context.WithTimeout(e.base, e.opts.Deadline)
	defer cancel()
	for attempt := 1; ; attempt++ {
		actx, acancel := context.WithTimeout(ctx, e.opts.AttemptTimeout)
		retry, err := d.Attempt(actx)
		acancel()
		if err == nil {
			return attempt, nil
		}
		if stop := e.stopped(ctx); stop != nil {
			return attempt, fmt.Errorf("%w: %v", stop, err)
		}
		if !retry || attempt >= e.opts.Attempts {
			return attempt, err
		}
		select {
		case <-e.opts.After(e.opts.Backoff(attempt)):
		case <-ctx.Done():
			return attempt, fmt.Errorf("%w: %v", e.stopped(ctx), err)
		}
	}
}

// stopped says why ctx ended: shutdown or the delivery's deadline.
func (e *LogoutEngine) stopped(ctx context.Context) error {
	switch {
	case e.base.Err() != nil:
		return ErrDeliveryAbandoned
	case ctx.Err() != nil:
		return ErrDeliveryDeadline
	}
	return nil
}

// deliveryDone is the Service's report of a delivery: a counter and an
// audit event (KindLogoutNotification) for every one.
func (s *Service) deliveryDone(r DeliveryResult) {
	d := r.Delivery
	result, outcome := DeliveryOK, registry.OutcomeSuccess
	if r.Err != nil {
		result, outcome = DeliveryFailed, registry.OutcomeFailure
	}
	errText := ""
	if r.Err != nil {
		errText = r.Err.Error()
		s.logger.Warn("logout delivery failed", "kind", d.Kind, "client", d.Client, "attempts", r.Attempts, "err", r.Err)
	} else {
		s.logger.Info("logout delivered", "kind", d.Kind, "client", d.Client, "attempts", r.Attempts)
	}
	detail, _ := json.Marshal(map[string]any{"kind": d.Kind, "attempts": r.Attempts, "error": errText})
	e := registry.Event{Kind: registry.KindLogoutNotification, Outcome: outcome, Client: d.Client, Detail: detail}
	if d.Session != nil {
		e.FiscalCode, e.SessionHash = d.Session.FiscalCode, d.Session.IDHash
	}
	s.emitAudit(context.Background(), e)
	// Counted once audited, so that a delivery counted is on the trail.
	if lr, ok := s.recorder.(LogoutRecorder); ok {
		lr.LogoutNotification(d.Kind, result)
	}
}

// ReportDelivery records a delivery made outside the engine (a
// front-channel logout through the citizen's browser, one attempt): the
// same counter and audit event as the engine's deliveries.
func (s *Service) ReportDelivery(d LogoutDelivery, err error) {
	s.deliveryDone(DeliveryResult{Delivery: d, Attempts: 1, Err: err})
}

// Close stops the logout-delivery engine — no new deliveries, the pending
// ones waited for until ctx ends, then abandoned — and then flushes the
// audit writes still waiting for a retry (the deliveries' own included).
// Part of the shutdown sequence, after the listeners have stopped.
func (s *Service) Close(ctx context.Context) error {
	err := s.delivery.Close(ctx)
	if err != nil {
		s.logger.Warn("logout deliveries abandoned at shutdown", "err", err)
	}
	if s.audits != nil {
		err = errors.Join(err, s.audits.close(ctx))
	}
	return err
}
