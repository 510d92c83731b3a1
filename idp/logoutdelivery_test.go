package idp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/idptest"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
)

// reports collects what the engine reports, one result per delivery.
type reports chan idp.DeliveryResult

// next waits for the next report, at most 10 s.
func (r reports) next(t *testing.T) idp.DeliveryResult {
	t.Helper()
	select {
	case res := <-r:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery reported in 10 s")
		return idp.DeliveryResult{}
	}
}

// none checks that nothing more was reported.
func (r reports) none(t *testing.T) {
	t.Helper()
	select {
	case res := <-r:
		t.Fatalf("unexpected report %+v", res)
	default:
	}
}

func newEngine(t *testing.T, o idp.DeliveryOptions) (*idp.LogoutEngine, reports) {
	r := make(reports, 100)
	if o.After == nil {
		// Backoff waits are skipped unless a test is about them.
		o.After = func(time.Duration) <-chan time.Time {
			c := make(chan time.Time, 1)
			c <- time.Now()
			return c
		}
	}
	e := idp.NewLogoutEngine(o, func(res idp.DeliveryResult) { r <- res })
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e, r
}

// receiver is a relying party's logout endpoint on loopback answering the
// statuses given in turn, then 200.
func receiver(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(hits.Add(1))
		if n <= len(statuses) {
			w.WriteHeader(statuses[n-1])
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// post is a delivery as the protocol packages build them: one POST, the
// answer classified by idp.StatusOutcome.
func post(url string) idp.LogoutDelivery {
	return idp.LogoutDelivery{Kind: idp.DeliveryOIDCBackchannel, Client: "esenzioni", Attempt: func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return true, err
		}
		resp.Body.Close()
		return idp.StatusOutcome(resp.StatusCode)
	}}
}

// blocked is a delivery whose attempt waits for release (or its context).
func blocked(started chan<- struct{}, release <-chan struct{}) idp.LogoutDelivery {
	return idp.LogoutDelivery{Kind: idp.DeliverySAML, Client: "cms", Attempt: func(ctx context.Context) (bool, error) {
		started <- struct{}{}
		select {
		case <-release:
			return false, nil
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}}
}

func TestDeliveryEngine(t *testing.T) {
	t.Run("ok/retry-then-success", func(t *testing.T) {
		srv, hits := receiver(t, 503, 429)
		var waits []time.Duration
		var mu sync.Mutex
		e, r := newEngine(t, idp.DeliveryOptions{
			Backoff: idp.ExponentialBackoff(time.Second, 30*time.Second),
			After: func(d time.Duration) <-chan time.Time {
				mu.Lock()
				waits = append(waits, d)
				mu.Unlock()
				c := make(chan time.Time, 1)
				c <- time.Now()
				return c
			},
		})
		e.Enqueue(post(srv.URL))
		res := r.next(t)
		if res.Err != nil || res.Attempts != 3 || hits.Load() != 3 {
			t.Fatalf("result %+v after %d requests, want delivered at the third", res, hits.Load())
		}
		mu.Lock()
		defer mu.Unlock()
		if len(waits) != 2 || waits[0] != time.Second || waits[1] != 2*time.Second {
			t.Fatalf("backoff waits %v, want [1s 2s]", waits)
		}
	})
	t.Run("fail/4xx-is-final", func(t *testing.T) {
		srv, hits := receiver(t, 400, 400, 400)
		e, r := newEngine(t, idp.DeliveryOptions{})
		e.Enqueue(post(srv.URL))
		res := r.next(t)
		if res.Err == nil || res.Attempts != 1 || hits.Load() != 1 {
			t.Fatalf("result %+v after %d requests, want refused at the first", res, hits.Load())
		}
	})
	t.Run("fail/attempts-run-out", func(t *testing.T) {
		srv, hits := receiver(t, 500, 500, 500, 500, 500)
		e, r := newEngine(t, idp.DeliveryOptions{Attempts: 3})
		e.Enqueue(post(srv.URL))
		if res := r.next(t); res.Err == nil || res.Attempts != 3 || hits.Load() != 3 {
			t.Fatalf("result %+v after %d requests, want failed after 3", res, hits.Load())
		}
	})
	t.Run("fail/deadline", func(t *testing.T) {
		srv, _ := receiver(t, 503, 503, 503, 503, 503, 503)
		e, r := newEngine(t, idp.DeliveryOptions{
			Attempts: 100, Deadline: 100 * time.Millisecond,
			After: time.After, Backoff: func(int) time.Duration { return time.Hour },
		})
		start := time.Now()
		e.Enqueue(post(srv.URL))
		res := r.next(t)
		if !errors.Is(res.Err, idp.ErrDeliveryDeadline) || res.Attempts != 1 {
			t.Fatalf("result %+v, want the deadline after one attempt", res)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("the deadline of 100 ms took %s", d)
		}
	})
	t.Run("fail/queue-full", func(t *testing.T) {
		e, r := newEngine(t, idp.DeliveryOptions{Workers: 1, Queue: 1})
		started, release := make(chan struct{}, 10), make(chan struct{})
		e.Enqueue(blocked(started, release)) // taken by the worker
		<-started
		e.Enqueue(blocked(started, release)) // waits in the queue
		full := blocked(started, release)
		full.Client = "full"
		e.Enqueue(full) // never blocks the caller
		if res := r.next(t); res.Delivery.Client != "full" || !errors.Is(res.Err, idp.ErrDeliveryQueueFull) || res.Attempts != 0 {
			t.Fatalf("result %+v, want the third refused as the queue is full", res)
		}
		close(release)
		for range 2 {
			if res := r.next(t); res.Err != nil {
				t.Fatalf("queued delivery: %+v", res)
			}
		}
	})
	t.Run("ok/close-drains", func(t *testing.T) {
		e, r := newEngine(t, idp.DeliveryOptions{Workers: 1})
		started, release := make(chan struct{}, 10), make(chan struct{})
		for range 3 {
			e.Enqueue(blocked(started, release))
		}
		<-started
		closed := make(chan error, 1)
		go func() { closed <- e.Close(context.Background()) }()
		// Close stops taking new deliveries at once (a refused one is
		// reported before Enqueue returns; one taken before Close began
		// is delivered with the others)...
		queued := 0
		for deadline := time.Now().Add(10 * time.Second); ; {
			e.Enqueue(idp.LogoutDelivery{Kind: idp.DeliverySAML, Client: "late", Attempt: func(context.Context) (bool, error) { return false, nil }})
			select {
			case res := <-r:
				if !errors.Is(res.Err, idp.ErrDeliveryClosed) {
					t.Fatalf("result %+v, want refused while closing", res)
				}
			default:
				queued++
				if time.Now().After(deadline) {
					t.Fatal("deliveries still taken 10 s after Close")
				}
				runtime.Gosched()
				continue
			}
			break
		}
		// ...and waits for the pending ones.
		select {
		case err := <-closed:
			t.Fatalf("Close returned %v with deliveries pending", err)
		default:
		}
		close(release)
		for range 3 + queued {
			if res := r.next(t); res.Err != nil {
				t.Fatalf("pending delivery: %+v", res)
			}
		}
		if err := <-closed; err != nil {
			t.Fatalf("Close: %v", err)
		}
		r.none(t)
	})
	t.Run("fail/close-abandons", func(t *testing.T) {
		e, r := newEngine(t, idp.DeliveryOptions{Workers: 1})
		started, never := make(chan struct{}, 10), make(chan struct{})
		for range 3 {
			e.Enqueue(blocked(started, never))
		}
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := e.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close: %v, want its deadline", err)
		}
		// Close has returned: every delivery is reported, abandoned.
		for range 3 {
			select {
			case res := <-r:
				if !errors.Is(res.Err, idp.ErrDeliveryAbandoned) {
					t.Fatalf("result %+v, want abandoned", res)
				}
			default:
				t.Fatal("Close returned before reporting every abandoned delivery")
			}
		}
	})
}

func TestExponentialBackoff(t *testing.T) {
	b := idp.ExponentialBackoff(time.Second, 5*time.Second)
	for retry, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 10: 5 * time.Second} {
		if got := b(retry); got != want {
			t.Errorf("retry %d: %s, want %s", retry, got, want)
		}
	}
}

// logoutRecorder counts logout deliveries by kind/result.
type logoutRecorder struct {
	idp.NopRecorder
	mu     sync.Mutex
	counts map[string]int
}

func (l *logoutRecorder) LogoutNotification(kind, result string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[string]int{}
	}
	l.counts[kind+"/"+result]++
}

func (l *logoutRecorder) logout(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[key]
}

// notifierOf is a logout notifier returning the deliveries of make.
type notifierOf func(s *sessions.Session) []idp.LogoutDelivery

func (f notifierOf) SessionEnded(_ context.Context, s *sessions.Session, _ string) []idp.LogoutDelivery {
	return f(s)
}

// TestFullQueueIsAudited: a delivery the queue cannot take is counted and
// audited as failed, and the request that ended the session goes on.
func TestFullQueueIsAudited(t *testing.T) {
	rec := &logoutRecorder{}
	e := idptest.New(t, idptest.Options{Recorder: rec, Service: func(o *idp.Options) {
		o.Delivery = idp.DeliveryOptions{Workers: 1, Queue: 1}
	}})
	started, release := make(chan struct{}, 10), make(chan struct{})
	defer close(release)
	e.Service.AddLogoutNotifier(notifierOf(func(*sessions.Session) []idp.LogoutDelivery {
		return []idp.LogoutDelivery{blocked(started, release), blocked(started, release), blocked(started, release)}
	}))
	ctx := context.Background()
	const cf = "RSSMRA85T10A562S"
	if _, err := e.Store.Create(ctx, &sessions.Session{FiscalCode: cf, CardFingerprint: strings.Repeat("ab", 32)}, time.Hour, time.Hour); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Service.EndCitizenSessions(ctx, cf, idp.CauseAdmin); n != 1 || err != nil {
		t.Fatalf("EndCitizenSessions: %d, %v", n, err)
	}
	events, err := e.Registry.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindLogoutNotification, FiscalCode: cf})
	if err != nil {
		t.Fatal(err)
	}
	// One delivery runs, one waits, the third was refused at once.
	if len(events) != 1 || events[0].Outcome != registry.OutcomeFailure || events[0].Client != "cms" ||
		!strings.Contains(string(events[0].Detail), "queue full") {
		t.Fatalf("audit events %+v", events)
	}
	if n := rec.logout(idp.DeliverySAML + "/" + idp.DeliveryFailed); n != 1 {
		t.Fatalf("logout_notifications_total{saml,failed} = %d", n)
	}
}
