package revocation

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxDPSources bounds the distribution points remembered per issuer.
const maxDPSources = 8

// issuerState is everything cached about the CRLs of one issuer (one
// name and key: a re-keyed CA is another issuer).
type issuerState struct {
	key    string
	issuer *x509.Certificate
	label  string // common name: the metric label
	crl    atomic.Pointer[cachedCRL]

	mu          sync.Mutex // guards the fields below and the sources' validators
	sources     []*crlSource
	override    bool // sources come from Options.CRLURLs: ignore the certificates' DPs
	ldapNoted   bool
	lastErr     error
	networkOnly bool      // every source of the last failed refresh failed on the network
	retryAt     time.Time // after a failure, logins do not refetch before this
	due         time.Time // next background refresh; zero: not scheduled
	failures    int
}

// cachedCRL is an installed CRL. validUntil is its nextUpdate or, for a
// CRL without one, the last confirmation plus CRLRefreshInterval.
type cachedCRL struct {
	*parsedCRL
	source     string
	validUntil time.Time
}

// issuerKey identifies an issuer by subject and key.
func issuerKey(issuer *x509.Certificate) string {
	id := issuer.SubjectKeyId
	if len(id) == 0 {
		sum := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)
		id = sum[:]
	}
	return string(issuer.RawSubject) + "\x00" + string(id)
}

func issuerLabel(issuer *x509.Certificate) string {
	if cn := issuer.Subject.CommonName; cn != "" {
		return cn
	}
	return issuer.Subject.String()
}

// state returns the issuer's state, creating it with the configured files
// and URL overrides.
func (c *Checker) state(issuer *x509.Certificate) *issuerState {
	key := issuerKey(issuer)
	c.mu.RLock()
	st := c.states[key]
	c.mu.RUnlock()
	if st != nil {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st = c.states[key]; st != nil {
		return st
	}
	st = &issuerState{key: key, issuer: issuer, label: issuerLabel(issuer)}
	for _, path := range c.files[string(issuer.RawSubject)] {
		st.sources = append(st.sources, &crlSource{path: path})
	}
	for _, u := range c.overrideURLs(issuer) {
		st.sources = append(st.sources, &crlSource{url: u})
		st.override = true
	}
	c.states[key] = st
	return st
}

func (c *Checker) allStates() []*issuerState {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*issuerState, 0, len(c.states))
	for _, st := range c.states {
		out = append(out, st)
	}
	return out
}

// overrideURLs returns the Options.CRLURLs entries naming issuer by SKI
// (hex, colons and case ignored), pkix.Name.String() or common name.
func (c *Checker) overrideURLs(issuer *x509.Certificate) []string {
	ski := hex.EncodeToString(issuer.SubjectKeyId)
	var out []string
	for k, urls := range c.opts.CRLURLs {
		norm := strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(k))
		if ski != "" && norm == ski || k == issuer.Subject.String() || k == issuer.Subject.CommonName {
			for _, u := range urls {
				if !slices.Contains(out, u) {
					out = append(out, u)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// noteLeaf adds the HTTP distribution points of leaf to the sources,
// unless the issuer's URLs are overridden.
func (c *Checker) noteLeaf(st *issuerState, leaf *x509.Certificate) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.override {
		return
	}
	for _, u := range leaf.CRLDistributionPoints {
		if !isHTTP(u) {
			if !st.ldapNoted {
				st.ldapNoted = true
				c.opts.Logger.Info("revocation: skipping non-HTTP CRL distribution point", "issuer", st.label, "url", u)
			}
			continue
		}
		if len(st.sources) >= maxDPSources || slices.ContainsFunc(st.sources, func(s *crlSource) bool { return s.url == u }) {
			continue
		}
		st.sources = append(st.sources, &crlSource{url: u})
	}
}

func isHTTP(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

func (c *Checker) stale(cur *cachedCRL, now time.Time) bool {
	return now.After(cur.validUntil.Add(c.opts.CRLGrace))
}

// checkCRL answers from the issuer's cached CRL, fetching it first when
// there is none or it is past nextUpdate + grace.
func (c *Checker) checkCRL(ctx context.Context, leaf, issuer *x509.Certificate) Result {
	st := c.state(issuer)
	c.noteLeaf(st, leaf)
	now := c.opts.Now()
	cur := st.crl.Load()
	var waitErr error
	if cur == nil || c.stale(cur, now) {
		waitErr = c.fetchOnDemand(ctx, st, now)
		cur = st.crl.Load()
		now = c.opts.Now()
	}
	res := Result{Method: MethodCRL}
	if cur == nil {
		res.Cause, res.Unreachable = st.failure(waitErr)
		return res
	}
	res.Source, res.ThisUpdate, res.NextUpdate = cur.source, cur.thisUpdate, cur.nextUpdate
	if len(cur.scope) > 0 && !slices.ContainsFunc(leaf.CRLDistributionPoints, func(u string) bool { return slices.Contains(cur.scope, u) }) {
		res.Cause = fmt.Errorf("crl %s: %w (partition %v)", cur.source, ErrOutOfScope, cur.scope)
		return res
	}
	if e, ok := cur.table.lookup(leaf.SerialNumber); ok {
		res.Status, res.RevokedAt, res.ReasonCode = StatusRevoked, e.at, e.reason
		return res
	}
	if c.stale(cur, now) {
		res.Cause = fmt.Errorf("crl %s: %w: valid until %s, grace %v", cur.source, ErrStale, cur.validUntil.Format(time.RFC3339), c.opts.CRLGrace)
		if last, _ := st.failure(nil); last != nil {
			res.Cause = errors.Join(res.Cause, last)
		}
		return res
	}
	res.Status = StatusGood
	return res
}

// failure describes why the issuer has no usable CRL.
func (st *issuerState) failure(waitErr error) (error, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case st.lastErr != nil:
		return st.lastErr, st.networkOnly
	case waitErr != nil:
		return fmt.Errorf("crl of %q: %w: %w", st.label, ErrUnreachable, waitErr), true
	case len(st.sources) == 0:
		return fmt.Errorf("crl of %q: %w: no distribution point, file or override", st.label, ErrNoSource), false
	}
	return fmt.Errorf("crl of %q: %w", st.label, ErrUnreachable), true
}

// fetchOnDemand refreshes st on the login path, unless a refresh failed
// recently; concurrent logins share one download.
func (c *Checker) fetchOnDemand(ctx context.Context, st *issuerState, now time.Time) error {
	st.mu.Lock()
	wait := now.Before(st.retryAt)
	st.mu.Unlock()
	if wait {
		return nil
	}
	_, _, err := c.crlFlight.do(ctx, st.key, func() error { return c.refresh(st) })
	return err
}

// install checks p against st's issuer and makes it the cached CRL unless
// it is older than the cached one. It reports whether p replaced it; an
// equal CRL is not an error. Newly listed serials go to OnRevoked.
func (c *Checker) install(st *issuerState, p *parsedCRL, src *crlSource, v validators) (bool, error) {
	if err := p.checkSignatureFrom(st.issuer); err != nil {
		return false, err
	}
	p.tbs, p.signature = nil, nil
	now := c.opts.Now()
	if p.thisUpdate.After(now.Add(c.opts.ClockSkew)) {
		return false, fmt.Errorf("%w: CRL thisUpdate %s", ErrNotYetValid, p.thisUpdate.Format(time.RFC3339))
	}
	st.mu.Lock()
	old := st.crl.Load()
	if old != nil {
		cmp := p.thisUpdate.Compare(old.thisUpdate)
		if p.number != nil && old.number != nil {
			cmp = p.number.Cmp(old.number)
		}
		if cmp < 0 {
			st.mu.Unlock()
			return false, fmt.Errorf("%w: number %v (thisUpdate %s) after %v (thisUpdate %s)", ErrRollback,
				p.number, p.thisUpdate.Format(time.RFC3339), old.number, old.thisUpdate.Format(time.RFC3339))
		}
		if cmp == 0 {
			if old.nextUpdate.IsZero() {
				st.crl.Store(&cachedCRL{parsedCRL: old.parsedCRL, source: old.source, validUntil: now.Add(c.opts.CRLRefreshInterval)})
			}
			v.store(src)
			st.mu.Unlock()
			return false, nil
		}
	}
	cur := &cachedCRL{parsedCRL: p, source: src.String(), validUntil: p.nextUpdate}
	if p.nextUpdate.IsZero() {
		cur.validUntil = now.Add(c.opts.CRLRefreshInterval)
	}
	st.crl.Store(cur)
	v.store(src)
	st.due = c.nextDue(cur, now)
	st.mu.Unlock()

	c.opts.Recorder.CRLState(st.label, now.Sub(p.thisUpdate), p.table.Len())
	c.opts.Logger.Info("revocation: CRL loaded", "issuer", st.label, "source", cur.source,
		"entries", p.table.Len(), "number", p.number, "this_update", p.thisUpdate, "next_update", p.nextUpdate)
	c.reportRevoked(st, old, cur)
	return true, nil
}

// reportRevoked tells OnRevoked what the CRL cur, just installed over old,
// revokes: the serials it adds, or, for the issuer's first CRL (old nil),
// that every serial it lists is to be checked (RevokedEvent.First).
func (c *Checker) reportRevoked(st *issuerState, old, cur *cachedCRL) {
	if c.opts.OnRevoked == nil {
		return
	}
	ev := RevokedEvent{Issuer: st.issuer, IssuerName: st.label, Source: cur.source, ThisUpdate: cur.thisUpdate}
	if old == nil {
		if cur.table.Len() == 0 {
			return
		}
		ev.First = true
		c.opts.Logger.Info("revocation: first CRL of the issuer lists serials", "issuer", st.label, "count", cur.table.Len())
		c.opts.OnRevoked(ev)
		return
	}
	if ev.Serials = added(old.table, cur.table); len(ev.Serials) > 0 {
		c.opts.Logger.Info("revocation: CRL lists new serials", "issuer", st.label, "count", len(ev.Serials))
		c.opts.OnRevoked(ev)
	}
}

// nextDue schedules the next background refresh: within CRLRefreshInterval
// and before half the time left to nextUpdate, at least a minute away,
// minus up to a tenth of jitter.
func (c *Checker) nextDue(cur *cachedCRL, now time.Time) time.Time {
	d := c.opts.CRLRefreshInterval
	if left := cur.validUntil.Sub(now); left/2 < d {
		d = left / 2
	}
	d = max(d, time.Minute)
	return now.Add(d - c.jitter(d/10))
}

func (c *Checker) logFailure(st *issuerState, err error) {
	c.opts.Recorder.CRLRefreshFailed(st.label)
	c.opts.Logger.Warn("revocation: CRL refresh failed", "issuer", st.label, slog.Any("error", err))
}
