package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// The group commit: audit events and last-login updates of concurrent
// requests are written by one goroutine, as many as are waiting in one
// transaction (one fsync, one round trip to PostgreSQL), and each caller
// returns once the transaction that holds its write is committed. A caller
// never waits for another's commit in turn: while one batch commits, the
// next gathers whatever arrives meanwhile. A full queue makes callers wait
// for room (backpressure); nothing is dropped.

// Defaults of the group commit.
const (
	DefaultWriteQueue   = 4096
	DefaultMaxBatch     = 256
	DefaultWriteTimeout = 5 * time.Second
)

// ErrClosed is returned by writes submitted after Close began.
var ErrClosed = errors.New("registry: closed")

// BatchObserver is told the depth of the write queue and the size of each
// committed batch; idp/metrics implements it.
type BatchObserver interface {
	AuditQueueDepth(n int)
	AuditBatch(size int)
}

// WithBatchObserver reports the group commit's queue depth and batch
// sizes to o.
func WithBatchObserver(o BatchObserver) Option { return func(d *DB) { d.obs = o } }

// WithWriteTimeout bounds one batch's transaction (default
// DefaultWriteTimeout); on SQLite it is the writer's busy timeout, the
// longest a batch waits for the write lock another process holds.
func WithWriteTimeout(t time.Duration) Option { return func(d *DB) { d.writeTimeout = t } }

// writeOp is one write waiting for the group commit: an audit event and,
// when fingerprint is set, the last login time of that card.
type writeOp struct {
	event       *registry.Event // nil: a last-login update alone
	fingerprint string          // "": no last-login update
	at          time.Time       // the last login time
	done        chan error      // buffered; gets the batch's verdict
}

// groupWriter owns the queue and the goroutine that commits it.
type groupWriter struct {
	d        *DB
	ops      chan *writeOp
	maxBatch int
	quit     chan struct{}
	mu       sync.RWMutex // held shared while a caller enqueues; Close takes it whole
	closed   bool
	wg       sync.WaitGroup
	closeOne sync.Once
}

func newGroupWriter(d *DB, queue, maxBatch int) *groupWriter {
	w := &groupWriter{d: d, ops: make(chan *writeOp, queue), maxBatch: maxBatch, quit: make(chan struct{})}
	w.wg.Add(1)
	go w.loop()
	return w
}

// submit queues op, waiting for room while ctx allows, then waits for the
// commit of its batch. Once queued, op is written whatever ctx does: a
// caller that gave up would otherwise retry a write that then lands twice.
func (w *groupWriter) submit(ctx context.Context, op *writeOp) error {
	op.done = make(chan error, 1)
	if err := w.enqueue(ctx, op); err != nil {
		return err
	}
	return <-op.done
}

func (w *groupWriter) enqueue(ctx context.Context, op *writeOp) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	select {
	case w.ops <- op:
	default:
		// Full: wait for room (backpressure), never drop.
		select {
		case w.ops <- op:
		case <-w.quit:
			return ErrClosed
		case <-ctx.Done():
			return fmt.Errorf("registry: write queue full (%d waiting): %w", cap(w.ops), ctx.Err())
		}
	}
	w.observeDepth()
	return nil
}

func (w *groupWriter) observeDepth() {
	if w.d.obs != nil {
		w.d.obs.AuditQueueDepth(len(w.ops))
	}
}

// loop commits batches until the queue is closed and empty.
func (w *groupWriter) loop() {
	defer w.wg.Done()
	batch := make([]*writeOp, 0, w.maxBatch)
	for op := range w.ops {
		batch = w.gather(append(batch[:0], op))
		w.observeDepth()
		w.commit(batch)
	}
}

// gatherYields bounds how many times the writer lets the requests
// runnable beside it run before it commits what it gathered.
const gatherYields = 4

// gather adds to batch the writes queued behind its first, up to maxBatch.
// When the queue is empty, the writer yields its processor and looks
// again, as long as a yield brought more: a request that queues a write
// wakes the writer next in line on its processor, so on a server with
// one core, or a busy one, each batch would otherwise hold the one write
// that woke it while the requests about to write wait behind it. A yield
// costs nothing when nothing else is runnable: an idle server commits at
// once.
func (w *groupWriter) gather(batch []*writeOp) []*writeOp {
	for yields := 0; len(batch) < w.maxBatch; {
		select {
		case op, ok := <-w.ops:
			if !ok {
				return batch
			}
			batch = append(batch, op)
			continue
		default:
		}
		if yields == gatherYields {
			return batch
		}
		yields++
		runtime.Gosched()
		if len(w.ops) == 0 {
			return batch // the yield brought nothing
		}
	}
	return batch
}

// commit writes a batch in one transaction and tells each caller. When the
// batch fails as a whole, each write is tried alone, so that one write the
// database refuses does not fail the others.
func (w *groupWriter) commit(batch []*writeOp) {
	if w.d.obs != nil {
		w.d.obs.AuditBatch(len(batch))
	}
	results, err := w.run(batch)
	if err != nil && len(batch) > 1 {
		for _, op := range batch {
			res, err := w.run([]*writeOp{op})
			if err == nil {
				err = res[0]
			}
			op.done <- err
		}
		return
	}
	for i, op := range batch {
		if err != nil {
			op.done <- err
		} else {
			op.done <- results[i]
		}
	}
}

// run commits the batch under the write timeout; results are each write's
// own outcome (registry.ErrNotRegistered for a last-login update of a card
// with no active registration), err the transaction's.
func (w *groupWriter) run(batch []*writeOp) ([]error, error) {
	var results []error
	var err error
	if w.d.dialect == DriverPostgres {
		ctx, cancel := context.WithTimeout(context.Background(), w.d.writeTimeout)
		results, err = w.d.commitPostgres(ctx, batch)
		cancel()
	} else {
		// No deadline: what a SQLite batch waits for is the file's write
		// lock, and the writer's busy timeout (the write timeout, see
		// sqliteDSN) bounds that wait; its statements run on a local
		// file. A context with a deadline would cost a goroutine per
		// statement and one per transaction on database/sql, and an
		// interrupt to arm on the compiled writer (groupcommit_sqlite.go).
		results, err = w.d.commitSQLite(batch)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: audit batch of %d: %w", len(batch), err)
	}
	return results, nil
}

// close stops taking writes, commits those already queued and waits for
// the writer to end.
func (w *groupWriter) close() {
	w.closeOne.Do(func() {
		close(w.quit)
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.ops)
	})
	w.wg.Wait()
}

// batchEvents are the batch's events, in its order.
func batchEvents(batch []*writeOp) []*registry.Event {
	var events []*registry.Event
	for _, op := range batch {
		if op.event != nil {
			events = append(events, op.event)
		}
	}
	return events
}

// auditArgs are the values of auditInsert for e.
func (d *DB) auditArgs(e *registry.Event) []any {
	return []any{d.ts(e.At), string(e.Kind), string(e.Outcome), e.Reason, x509cns.NormalizeFiscalCode(e.FiscalCode),
		e.Client, e.SessionHash, e.CardSerial, e.Issuer, e.RemoteIP, e.RequestID, string(e.Detail)}
}
