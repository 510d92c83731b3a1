package tslsync

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
)

// Defaults of Options.
const (
	DefaultRefresh = 12 * time.Hour
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBytes bounds a fetched list: AgID's is a few MiB.
	DefaultMaxBytes = 16 << 20
	// maxRetry caps the wait after a failed fetch.
	maxRetry = 15 * time.Minute
)

// The outcomes of a fetch: the values of the outcome label of
// cnsgate_trust_tsl_fetch_total.
const (
	OutcomeUpdated      = "updated"       // a new list verified and installed
	OutcomeUnchanged    = "unchanged"     // 304, or the same bytes as the list in use
	OutcomeUnreachable  = "unreachable"   // connection refused, DNS, reset, redirect refused
	OutcomeTimeout      = "timeout"       // no complete answer within Options.Timeout
	OutcomeHTTPError    = "http_error"    // an HTTP status other than 200 and 304
	OutcomeTooLarge     = "too_large"     // more than Options.MaxBytes
	OutcomeInvalid      = "invalid"       // not a well-formed trusted list
	OutcomeBadSignature = "bad_signature" // signature missing, wrong, or by another signer
	OutcomeRollback     = "rollback"      // an older issue than the list in use
	OutcomeNoAnchor     = "no_anchor"     // verified, but no CA usable now in it
)

// Outcomes lists every outcome, for metrics to start at zero.
func Outcomes() []string {
	return []string{OutcomeUpdated, OutcomeUnchanged, OutcomeUnreachable, OutcomeTimeout, OutcomeHTTPError,
		OutcomeTooLarge, OutcomeInvalid, OutcomeBadSignature, OutcomeRollback, OutcomeNoAnchor}
}

// ErrNoSigner: Options without a Signer. A list fetched over the network
// is trusted only for its signature.
var ErrNoSigner = errors.New("tslsync: a signer certificate is required")

// Recorder counts fetches and publishes the state of the list in use.
type Recorder interface {
	TSLFetch(outcome string)
	// TSLState is called whenever the list in use changes or is confirmed
	// current: verifiedAt is when it was last fetched and verified (or
	// confirmed unchanged), anchors how many of its CAs are usable now.
	TSLState(verifiedAt, nextUpdate time.Time, anchors int)
}

// Options configures a Syncer.
type Options struct {
	URL string
	// Signer is the only certificate accepted for the list's signature.
	Signer *x509.Certificate
	// TSL selects the services (Signer and MaxSize are set from here).
	TSL x509cns.TSLOptions
	// CacheFile keeps the last good list across restarts; "" keeps none.
	CacheFile string
	Refresh   time.Duration // between fetches; default DefaultRefresh
	// Retry is the wait after a failed fetch; default Refresh/4, at most
	// 15 minutes.
	Retry    time.Duration
	Timeout  time.Duration // a whole fetch, body included; default DefaultTimeout
	MaxBytes int64         // default DefaultMaxBytes
	// Client makes the requests; default a client that keeps no cookies
	// and follows at most 3 redirects, never from https to http.
	Client *http.Client
	Now    func() time.Time
	// Jitter returns a random duration in [0, d); default math/rand/v2.
	// Every wait is shortened by Jitter(wait/10) so that replicas spread.
	Jitter   func(d time.Duration) time.Duration
	Logger   *slog.Logger
	Recorder Recorder // may be nil
	// OnUpdate receives every new list installed by a fetch (not the one
	// LoadCache reads: the caller builds its first trust store itself).
	OnUpdate func(*List)
}

// List is a verified trusted list.
type List struct {
	Data       []byte              // the document as published, signature included
	Report     *x509cns.LoadReport // what verifying it loaded into a scratch store
	Scheme     x509cns.TSLScheme   // sequence number, issue and next-update times
	VerifiedAt time.Time           // last fetched and verified, or confirmed unchanged
	Source     string              // "url" or "cache"
}

// Syncer fetches and keeps the trusted list. Build it with New.
type Syncer struct {
	o   Options
	cur atomic.Pointer[List]

	mu            sync.Mutex // one fetch at a time; guards the validators
	etag, lastMod string
}

// New checks the options and fills their defaults.
func New(o Options) (*Syncer, error) {
	if o.Signer == nil {
		return nil, ErrNoSigner
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.Retry <= 0 {
		o.Retry = min(o.Refresh/4, maxRetry)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Client == nil {
		o.Client = defaultClient()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Jitter == nil {
		o.Jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return rand.N(d)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.TSL.Signer, o.TSL.MaxSize = o.Signer, o.MaxBytes
	return &Syncer{o: o}, nil
}

// Current returns the list in use, or nil when none was ever verified.
func (s *Syncer) Current() *List { return s.cur.Load() }

// Run fetches after first, then every Refresh (Retry after a failure),
// each wait shortened by a jitter, until ctx ends.
func (s *Syncer) Run(ctx context.Context, first time.Duration) {
	wait := first
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = s.o.Refresh
		if s.Fetch(ctx) != nil {
			wait = s.o.Retry
		}
		wait -= s.o.Jitter(wait / 10)
	}
}

func (s *Syncer) record(outcome string) {
	if s.o.Recorder != nil {
		s.o.Recorder.TSLFetch(outcome)
	}
}

func (s *Syncer) publish(l *List) {
	if s.o.Recorder != nil {
		s.o.Recorder.TSLState(l.VerifiedAt, l.Scheme.NextUpdate, l.Report.Usable)
	}
}

// defaultClient keeps no cookies and follows at most 3 redirects, none
// from https to http. The signature, not the transport, makes the list
// trusted; the bound keeps a misconfigured server from looping.
func defaultClient() *http.Client {
	return &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		switch {
		case len(via) > 3:
			return errors.New("more than 3 redirects")
		case via[0].URL.Scheme == "https" && req.URL.Scheme != "https":
			return errors.New("redirect from https to " + req.URL.Scheme + " refused")
		}
		return nil
	}}
}
