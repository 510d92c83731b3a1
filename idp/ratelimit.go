package idp

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// Limits bound what unauthenticated browsers can make the login service
// hold: each login start stores a pending request until the card login
// ends or its TTL passes.
type Limits struct {
	// PendingTTL is how long a pending request waits for the card; default
	// DefaultPendingTTL.
	PendingTTL time.Duration
	// PerIPRate is how many login starts a client IP may make per second,
	// sustained; PerIPBurst how many at once. A rate of zero or less turns
	// the limit off.
	PerIPRate  float64
	PerIPBurst int
	// TrackedIPs bounds the client IPs whose buckets are kept (the least
	// recently seen is forgotten first); default DefaultTrackedIPs.
	TrackedIPs int
}

// Defaults of Limits.
const (
	DefaultPendingTTL = 10 * time.Minute
	DefaultTrackedIPs = 10000
	// MaxPendingBytes bounds one stored pending request. The protocols
	// store only the validated essentials of a request (a few hundred
	// bytes) and refuse longer parameters first; this is the backstop.
	MaxPendingBytes = 8 << 10
)

// PendingNamespace is the Ephemeral namespace of pending requests: the
// one cmd/cnsgate caps in the memory store (limits.pending_max).
const PendingNamespace = nsPending

// RateLimitRecorder is the optional ability of a Recorder to count the
// login starts refused by the per-IP limit; route is "/authorize",
// "/saml/sso" or "other".
type RateLimitRecorder interface {
	RateLimited(route string)
}

// rateLimiter is a token bucket per client IP. Its memory is bounded: it
// keeps the buckets of at most max IPs, forgetting the least recently seen
// first (a forgotten IP starts again with a full bucket). IPv6 clients are
// keyed by their /64, which one client usually holds whole.
type rateLimiter struct {
	rate  float64 // tokens per second
	burst float64
	max   int
	now   func() time.Time

	mu  sync.Mutex
	lru *list.List // of *bucket, most recent at the front
	at  map[netip.Addr]*list.Element
}

type bucket struct {
	key    netip.Addr
	tokens float64
	last   time.Time
	// throttled is set by the first refusal and cleared by the next start
	// allowed: the refusals in between are one throttling episode.
	throttled bool
}

// verdict is what allow decided for one login start.
type verdict struct {
	ok bool
	// wait is how long until the next token when refused.
	wait time.Duration
	// first is set on the refusal that began a throttling episode.
	first bool
}

// newRateLimiter returns nil (no limit) when the rate is not positive.
func newRateLimiter(l Limits, now func() time.Time) *rateLimiter {
	if l.PerIPRate <= 0 {
		return nil
	}
	burst := max(l.PerIPBurst, 1)
	size := l.TrackedIPs
	if size <= 0 {
		size = DefaultTrackedIPs
	}
	return &rateLimiter{rate: l.PerIPRate, burst: float64(burst), max: size, now: now,
		lru: list.New(), at: map[netip.Addr]*list.Element{}}
}

// allow takes a token from ip's bucket. Without one it reports how long
// until the next, and whether this refusal is the first of an episode.
func (l *rateLimiter) allow(ip netip.Addr) verdict {
	key := limiterKey(ip)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if el, ok := l.at[key]; ok {
		l.lru.MoveToFront(el)
		b = el.Value.(*bucket)
		b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
		b.last = now
	} else {
		b = &bucket{key: key, tokens: l.burst, last: now}
		l.at[key] = l.lru.PushFront(b)
		for l.lru.Len() > l.max {
			old := l.lru.Remove(l.lru.Back()).(*bucket)
			delete(l.at, old.key)
		}
	}
	if b.tokens >= 1 {
		b.tokens--
		b.throttled = false
		return verdict{ok: true}
	}
	first := !b.throttled
	b.throttled = true
	return verdict{wait: time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), first: first}
}

// tracked is how many IPs have a bucket.
func (l *rateLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// limiterKey is an IPv4 address as is, an IPv6 address as its /64.
func limiterKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is4() {
		return ip
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return ip
	}
	return p.Addr()
}

// clientIP is the address the request came from: the one WithRequestInfo
// put in the context (the same the log and the audit trail show), else the
// peer's.
func clientIP(r *http.Request) netip.Addr {
	s := r.RemoteAddr
	if c := infoOf(r.Context()); c != nil {
		s = c.ip
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr()
	}
	ip, _ := netip.ParseAddr(s)
	return ip
}

// limitedRoutes are the values of the route label of rate_limited_total.
var limitedRoutes = map[string]bool{"/authorize": true, "/saml/sso": true}

// rateLimited answers a login start refused by the per-IP limit: 429 with
// Retry-After. Every refusal is logged and counted; only the first of a
// throttling episode is audited (kind rate_limited), so that the audit
// trail says which client was throttled and when without letting a flood
// grow the audit table one row per request: a client keeps being refused
// without new rows until it is allowed a start again.
func (s *Service) rateLimited(w http.ResponseWriter, r *http.Request, ip netip.Addr, v verdict) {
	route := r.URL.Path
	if !limitedRoutes[route] {
		route = "other"
	}
	if rec, ok := s.recorder.(RateLimitRecorder); ok {
		rec.RateLimited(route)
	}
	secs := max(int(math.Ceil(v.wait.Seconds())), 1)
	client := limiterKey(ip).String()
	s.logger.WarnContext(r.Context(), "login start rate-limited", "route", route, "client", client, "retry_after_s", secs)
	if v.first {
		s.audit(r, auditRecord{kind: registry.KindRateLimited, outcome: registry.OutcomeFailure,
			reason: "rate_limited", detail: fmt.Sprintf("login starts on %s from %s over the limit of %g/s (burst %g); "+
				"further refusals until a start is allowed again are counted in cnsgate_rate_limited_total, not audited",
				route, client, s.limiter.rate, s.limiter.burst)})
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.failPage(w, r, http.StatusTooManyRequests, "ratelimit.title", "ratelimit.text", "")
}
