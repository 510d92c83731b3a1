package idp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	now := time.Unix(1700000000, 0)
	l := newRateLimiter(Limits{PerIPRate: 0.5, PerIPBurst: 3, TrackedIPs: 2}, func() time.Time { return now })
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	for i := range 3 {
		if ok := l.allow(a).ok; !ok {
			t.Fatalf("start %d of the burst refused", i+1)
		}
	}
	v := l.allow(a)
	if v.ok || v.wait != 2*time.Second || !v.first {
		t.Fatalf("past the burst: %+v; want the first refusal of an episode and 2s (rate 0.5/s)", v)
	}
	if v := l.allow(a); v.ok || v.first {
		t.Fatalf("second refusal: %+v; want a refusal within the same episode", v)
	}
	now = now.Add(2 * time.Second)
	if ok := l.allow(a).ok; !ok {
		t.Fatal("a token refilled after 2s was refused")
	}
	if v := l.allow(a); v.ok || !v.first {
		t.Fatalf("refusal after an allowed start: %+v; want a new episode", v)
	}
	if ok := l.allow(b).ok; !ok {
		t.Fatal("another IP shares the first one's bucket")
	}
	// A third IP makes the least recently seen (a) forgotten: the
	// buckets never exceed TrackedIPs.
	l.allow(c)
	if n := l.tracked(); n != 2 {
		t.Fatalf("tracked IPs = %d, want 2", n)
	}
	if ok := l.allow(a).ok; !ok {
		t.Fatal("a forgotten IP did not start again with a full bucket")
	}
}

func TestRateLimiterKeys(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::"},
		{"2001:db8:1:2:bbbb::9", "2001:db8:1:2::"},
	} {
		if got := limiterKey(netip.MustParseAddr(c.in)).String(); got != c.want {
			t.Errorf("limiterKey(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	if newRateLimiter(Limits{PerIPRate: 0}, time.Now) != nil {
		t.Error("a zero rate must turn the limit off")
	}
}

// BenchmarkRateLimiter is the hot-path cost of the limit: one allow per
// login start, over more IPs than are tracked, so that the LRU evicts.
func BenchmarkRateLimiter(b *testing.B) {
	l := newRateLimiter(Limits{PerIPRate: 1, PerIPBurst: 20, TrackedIPs: 10000}, time.Now)
	ips := make([]netip.Addr, 20000)
	for i := range ips {
		ips[i] = netip.MustParseAddr(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.allow(ips[i%len(ips)])
		i++
	}
}
