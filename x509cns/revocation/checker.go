package revocation

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"time"
)

// loopTick is how often the background loop looks for due refreshes and
// reports CRL ages.
const loopTick = 15 * time.Second

// Checker checks certificates against CRLs and OCSP with caches. Build it
// with New, call Start once, Check from any goroutine, Close at shutdown.
type Checker struct {
	opts   Options
	ctx    context.Context // ends at Close; bounds every fetch
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.RWMutex
	states map[string]*issuerState // by issuerKey
	files  map[string][]string     // CRL files by raw issuer name

	crlFlight  flight[error]
	ocspFlight flight[Result]
	ocsp       ocspCache
	ocspStats  ocspStats // state.go

	randMu    sync.Mutex
	lifeMu    sync.Mutex // orders spawn against Close
	closed    bool
	startOnce sync.Once
}

// New validates opts, applies the defaults and returns a Checker. It does
// no I/O: Start loads the files and overrides.
func New(opts Options) (*Checker, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Checker{opts: o, states: map[string]*issuerState{}, files: map[string][]string{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.crlFlight.spawn = c.spawn
	c.ocspFlight.spawn = c.spawn
	return c, nil
}

// spawn runs fn in a goroutine that Close waits for, unless the checker
// is closed.
func (c *Checker) spawn(fn func()) bool {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
	return true
}

// Options returns the options in effect, defaults applied.
func (c *Checker) Options() Options { return c.opts }

// Start loads the CRL files (returning their errors, joined: the caller
// decides whether a broken file is fatal; the checker works either way),
// fetches the URL overrides of the issuers the trust store lists, and
// starts the background refresh. It does nothing in modes none and ocsp
// beyond starting the OCSP cache pruning.
func (c *Checker) Start(ctx context.Context) error {
	err := errors.New("revocation: Start called twice")
	c.startOnce.Do(func() {
		err = nil
		if c.opts.Mode != ModeNone && c.opts.Mode != ModeOCSP {
			err = c.loadAtStart(ctx)
		}
		c.spawn(c.loop)
	})
	return err
}

func (c *Checker) loadAtStart(ctx context.Context) error {
	var errs []error
	for _, path := range c.opts.CRLFiles {
		if err := c.loadFileAtStart(path); err != nil {
			errs = append(errs, err)
			c.opts.Logger.Warn("revocation: CRL file not loaded", "file", path, "error", err)
		}
	}
	c.loadCache()
	lister, ok := c.opts.Issuers.(anchorLister)
	if !ok || len(c.opts.CRLURLs) == 0 {
		return errors.Join(errs...)
	}
	var wg sync.WaitGroup
	for _, a := range lister.Anchors() {
		if len(c.overrideURLs(a)) == 0 {
			continue
		}
		st := c.state(a)
		wg.Go(func() { _, _, _ = c.crlFlight.do(ctx, st.key, func() error { return c.refresh(st) }) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close stops the background refresh and waits for fetches in flight.
// Check keeps answering from the caches (fetches fail at once).
func (c *Checker) Close() {
	c.lifeMu.Lock()
	c.closed = true
	c.lifeMu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// Refresh fetches every known issuer's CRL now, as the background loop does
// when one is due, and returns the failures joined.
func (c *Checker) Refresh(ctx context.Context) error {
	var errs []error
	for _, st := range c.allStates() {
		if err, _, werr := c.crlFlight.do(ctx, st.key, func() error { return c.refresh(st) }); err != nil || werr != nil {
			errs = append(errs, err, werr)
		}
	}
	return errors.Join(errs...)
}

func (c *Checker) loop() {
	t := time.NewTicker(loopTick)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			c.tick()
		}
	}
}

// tick starts the due refreshes and reports CRL ages.
func (c *Checker) tick() {
	now := c.opts.Now()
	for _, st := range c.allStates() {
		if cur := st.crl.Load(); cur != nil {
			c.opts.Recorder.CRLState(st.label, now.Sub(cur.thisUpdate), cur.table.Len())
		}
		st.mu.Lock()
		due := !st.due.IsZero() && !now.Before(st.due)
		st.mu.Unlock()
		if due {
			c.spawn(func() { _, _, _ = c.crlFlight.do(c.ctx, st.key, func() error { return c.refresh(st) }) })
		}
	}
	c.ocsp.prune(now)
}

// jitter returns a uniformly random duration in [0, d).
func (c *Checker) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	var b [8]byte
	c.randMu.Lock()
	_, err := io.ReadFull(c.opts.Rand, b[:])
	c.randMu.Unlock()
	if err != nil {
		return 0
	}
	return time.Duration(binary.BigEndian.Uint64(b[:]) % uint64(d))
}

// Check returns the revocation status of leaf, issued by issuer (the next
// certificate of the verified chain). It never fails: problems are in
// Result.Cause. Mode none answers good at once.
func (c *Checker) Check(ctx context.Context, leaf, issuer *x509.Certificate) Result {
	if c.opts.Mode == ModeNone {
		c.opts.Recorder.CheckDone(MethodNone, StatusGood)
		return Result{Status: StatusGood, Method: MethodNone}
	}
	if leaf == nil || issuer == nil {
		return Result{Method: MethodNone, Cause: ErrNoIssuer}
	}
	order := [2]Method{MethodCRL}
	switch c.opts.Mode {
	case ModeOCSP:
		order[0] = MethodOCSP
	case ModeCRLThenOCSP:
		order[1] = MethodOCSP
	case ModeOCSPThenCRL:
		order = [2]Method{MethodOCSP, MethodCRL}
	}
	var tried []Result
	for _, m := range order {
		var r Result
		switch m {
		case MethodCRL:
			r = c.checkCRL(ctx, leaf, issuer)
		case MethodOCSP:
			r = c.checkOCSP(ctx, leaf, issuer)
		default:
			continue
		}
		c.opts.Recorder.CheckDone(r.Method, r.Status)
		if r.Status != StatusUnavailable {
			r.Cause = joinCauses(tried)
			return r
		}
		tried = append(tried, r)
	}
	last := tried[len(tried)-1]
	last.Cause = joinCauses(tried)
	last.Unreachable = networkOnly(tried)
	return last
}

func joinCauses(rs []Result) error {
	var errs []error
	for _, r := range rs {
		errs = append(errs, r.Cause)
	}
	return errors.Join(errs...)
}

// networkOnly reports whether every method that had a source failed on the
// network, and at least one had a source.
func networkOnly(rs []Result) bool {
	tried := false
	for _, r := range rs {
		if errors.Is(r.Cause, ErrNoSource) {
			continue
		}
		if !r.Unreachable {
			return false
		}
		tried = true
	}
	return tried
}

// Decide applies the checker's failure policy to r (see the package
// function Decide), logging a warning when failure "open" admits a card.
func (c *Checker) Decide(r Result) error {
	err := Decide(r, c.opts.Failure)
	if err == nil && r.Status == StatusUnavailable {
		c.opts.Logger.Warn("revocation: status unavailable, admitted by failure policy open",
			"method", string(r.Method), "source", r.Source, "error", r.Cause)
	}
	return err
}

// Verify is Check followed by Decide: what a login calls.
func (c *Checker) Verify(ctx context.Context, leaf, issuer *x509.Certificate) (Result, error) {
	r := c.Check(ctx, leaf, issuer)
	return r, c.Decide(r)
}
