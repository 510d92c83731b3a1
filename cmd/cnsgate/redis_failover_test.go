package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// failoverRecoveryBound is how soon after a Redis promotion logins must
// succeed again (issue 14 item 6).
const failoverRecoveryBound = 5 * time.Second

// redisServer runs serve with its sessions in the Redis described by the
// YAML block redis (the lines under "sessions:\n  store: redis\n"), and
// the per-IP limit of login starts lifted: every browser here is one IP.
func redisServer(t *testing.T, redis string) *testServer {
	t.Helper()
	return startServer(t, func(yml string) string {
		const memory = "sessions:\n  store: memory\n"
		if !strings.Contains(yml, memory) {
			t.Fatalf("the demo configuration changed shape; edit this test:\n%s", yml)
		}
		return strings.Replace(yml, memory, "sessions:\n  store: redis\n"+redis, 1) +
			"limits:\n  pending_per_ip_rate: 1000000\n  pending_per_ip_burst: 1000000\n"
	})
}

// loginResult is one whole card login in a fresh browser.
type loginResult struct {
	end    time.Time
	status int
	ok     bool   // the citizen reached "Servizi attivi"
	clean  bool   // a 503 with the Italian unavailable page and Retry-After
	err    string // transport error or unexpected answer
}

// browserLogin runs the journey a citizen's browser makes: the card
// listener sends it to the public origin to be bound, back to the card
// listener, then to /cns/complete, where the session is created. Every step
// reads or writes the session store.
func browserLogin(t *testing.T, s *testServer) loginResult {
	c, _ := s.browser(t, "citizen")
	c.Timeout = 10 * time.Second
	resp, err := c.Get(s.cfg.CNSOrigin + "/cns/login")
	if err != nil {
		return loginResult{end: time.Now(), err: err.Error()}
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := loginResult{end: time.Now(), status: resp.StatusCode}
	switch {
	case resp.StatusCode == 200 && strings.Contains(string(body), "Servizi attivi"):
		r.ok = true
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" &&
		strings.Contains(string(body), web.Italian.T("unavailable.title")):
		r.clean = true
	default:
		r.err = fmt.Sprintf("%d %s", resp.StatusCode, resp.Request.URL)
	}
	return r
}

// loginLoop runs logins back to back until stopped.
type loginLoop struct {
	mu      sync.Mutex
	results []loginResult
	stop    chan struct{}
	done    chan struct{}
}

func startLogins(t *testing.T, s *testServer) *loginLoop {
	l := &loginLoop{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			r := browserLogin(t, s)
			l.mu.Lock()
			l.results = append(l.results, r)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *loginLoop) halt() []loginResult {
	close(l.stop)
	<-l.done
	return l.results
}

// recovered returns when the first of three consecutive successful logins
// ended: a login touches about six keys, so three in a row all but prove
// that the failed-over slots are served again.
func (l *loginLoop) recovered() (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i+3 <= len(l.results); i++ {
		if l.results[i].ok && l.results[i+1].ok && l.results[i+2].ok {
			return l.results[i].end, true
		}
	}
	return time.Time{}, false
}

// checkFailover drives the fault: logins run from kill() on; once promoted
// returns the moment of the promotion, logins must be working again within
// failoverRecoveryBound, every failed one having been a clean 503. Then
// rejoin restarts the old master and waits until it is a replica again;
// no login may fail meanwhile, nor in 100 more.
func checkFailover(t *testing.T, s *testServer, kill func(), promoted func() time.Time, rejoin func()) {
	if r := browserLogin(t, s); !r.ok {
		t.Fatalf("login before the fault: %+v", r)
	}
	logins := startLogins(t, s)
	kill()
	killed := time.Now()
	at := promoted()
	var back time.Time
	waitFor(t, "three logins in a row to succeed after the promotion", failoverRecoveryBound+10*time.Second, func() bool {
		var ok bool
		back, ok = logins.recovered()
		return ok
	})
	results := logins.halt()
	failed := 0
	for _, r := range results {
		if !r.ok {
			failed++
		}
		if !r.ok && !r.clean {
			t.Errorf("a login during the failover was not a clean 503: %s", r.err)
		}
	}
	rec := max(back.Sub(at), 0)
	t.Logf("promotion %s after the kill; logins back %s after the promotion; %d of %d logins answered 503 meanwhile",
		at.Sub(killed).Round(time.Millisecond), rec.Round(time.Millisecond), failed, len(results))
	if rec > failoverRecoveryBound {
		t.Fatalf("logins came back %s after the promotion, want within %s", rec, failoverRecoveryBound)
	}

	logins = startLogins(t, s)
	rejoin()
	for _, r := range logins.halt() {
		if !r.ok {
			t.Errorf("a login failed while the old master rejoined: %d %s", r.status, r.err)
		}
	}
	for i := range 100 {
		if r := browserLogin(t, s); !r.ok {
			t.Fatalf("login %d after the old master rejoined: %d %s", i, r.status, r.err)
		}
	}
	checkLoginsRecorded(t, s)
}

// checkLoginsRecorded checks that every successful login is on /metrics
// and on the audit trail, read back from the registry.
func checkLoginsRecorded(t *testing.T, s *testServer) {
	t.Helper()
	metrics := scrape(t, s.b.Admin)
	var created int
	for line := range strings.Lines(metrics) {
		if strings.HasPrefix(line, "cnsgate_sessions_created_total ") {
			fmt.Sscan(strings.TrimPrefix(line, "cnsgate_sessions_created_total "), &created)
		}
	}
	if created < 101 {
		t.Fatalf("cnsgate_sessions_created_total = %d, want at least the 101 logins after the rejoin and before the fault", created)
	}
	reg, err := sqlstore.Open(context.Background(), string(s.cfg.Registry.Driver), s.cfg.Registry.DSN.Value())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	var n int
	waitFor(t, fmt.Sprintf("%d successful logins on the audit trail", created), 20*time.Second, func() bool {
		events, err := reg.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, Limit: 10 * created})
		n = len(events)
		return err == nil && n >= created
	})
	t.Logf("%d sessions created, %d successful logins audited", created, n)
}

// TestServeRedisClusterFailover runs the gateway on a real 3-master Redis
// Cluster with a replica each, reached through one seed address (mode
// cluster), and SIGKILLs the seed master while browsers log in: logins
// answer the clean 503 page until the replica is promoted, work again
// within 5 s of the promotion, and keep working while the old master
// rejoins as a replica and for 100 logins after.
func TestServeRedisClusterFailover(t *testing.T) {
	cl := sessionstest.StartRedisCluster(t)
	const slot = 0
	victim, err := cl.MasterOf(t.Context(), slot)
	if err != nil {
		t.Fatal(err)
	}
	s := redisServer(t, fmt.Sprintf("  redis:\n    mode: cluster\n    addrs: [%q]\n", victim.Addr))
	checkFailover(t, s, victim.Stop,
		func() time.Time { return cl.WaitPromotion(slot, victim, 20*time.Second) },
		func() { victim.Start(); cl.WaitRejoined(victim, 90*time.Second) })
}

// TestServeRedisSentinelFailover is the same with Sentinel: one master,
// one replica, three sentinels (mode sentinel); the promotion is the
// sentinels' +switch-master.
func TestServeRedisSentinelFailover(t *testing.T) {
	rs := sessionstest.StartRedisSentinel(t)
	addrs := `"` + strings.Join(rs.Addrs, `", "`) + `"`
	s := redisServer(t, fmt.Sprintf("  redis:\n    mode: sentinel\n    master_name: %s\n    addrs: [%s]\n", sessionstest.SentinelMaster, addrs))
	var switched <-chan sessionstest.Switch
	checkFailover(t, s,
		func() { switched = rs.WatchSwitch(); rs.Master.Stop() },
		func() time.Time {
			select {
			case sw := <-switched:
				return sw.At
			case <-time.After(20 * time.Second):
				t.Fatal("no +switch-master within 20 s of the kill")
				return time.Time{}
			}
		},
		func() { rs.Master.Start(); rs.WaitRejoined(rs.Master, 90*time.Second) })
}
