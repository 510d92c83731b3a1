package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// recoveryBound is how soon after a promotion the store must work again
// (issue 14 item 6).
const recoveryBound = 5 * time.Second

// failoverClient builds a client with the production defaults (only Mode
// and Addrs set), closed when the test ends.
func failoverClient(t *testing.T, mode redisstore.Mode, addrs []string, master string) redis.UniversalClient {
	t.Helper()
	c, err := redisstore.NewClient(redisstore.Options{Mode: mode, Addrs: addrs, MasterName: master})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// conformance runs the shared suite on c; the servers are the test's own,
// so keys are left for them to take away.
func conformance(t *testing.T, c redis.UniversalClient) {
	t.Run("conformance", func(t *testing.T) {
		sessionstest.Run(t, func(t *testing.T, clock *sessionstest.Clock) (sessions.Store, sessions.Ephemeral) {
			st, err := redisstore.New(c, redisstore.StoreOptions{Prefix: testPrefix(), Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			return st, st.Ephemeral()
		})
	})
}

// cycle is one login's worth of store traffic: create a session, read,
// touch, add a participant, a handoff code put and taken, a direct write and
// read of probe (a key on the slot the test kills), and the logout. Every
// call has the bound a login request gives it.
func cycle(st *redisstore.Store, c redis.UniversalClient, probe string, i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	const cf = "RSSMRA85T10A562S"
	id, err := st.Create(ctx, realSession(cf), 15*time.Minute, 8*time.Hour)
	if err != nil {
		return fmt.Errorf("Create: %w", err)
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"Get", func() error { _, err := st.Get(ctx, id); return err }},
		{"Touch", func() error { return st.Touch(ctx, id) }},
		{"AddParticipant", func() error {
			return st.AddParticipant(ctx, id, sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni"})
		}},
		{"Ephemeral.Put", func() error { return st.Ephemeral().Put(ctx, "handoff", id, []byte("v"), time.Minute) }},
		{"Ephemeral.Take", func() error { _, err := st.Ephemeral().Take(ctx, "handoff", id); return err }},
		{"SET probe", func() error { return c.Set(ctx, probe, i, time.Minute).Err() }},
		{"GET probe", func() error {
			if n, err := c.Get(ctx, probe).Int(); err != nil || n != i {
				return fmt.Errorf("%d, %v (want %d)", n, err, i)
			}
			return nil
		}},
		{"Delete", func() error { _, err := st.Delete(ctx, id); return err }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// cycler runs cycles back to back from the fault on, until stopped, and
// reports the end of the first successful one.
type cycler struct {
	first   chan time.Time
	stop    chan struct{}
	done    chan struct{}
	failed  atomic.Int64
	lastErr atomic.Value
}

func startCycler(st *redisstore.Store, c redis.UniversalClient, probe string) *cycler {
	y := &cycler{first: make(chan time.Time, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(y.done)
		for i := 0; ; i++ {
			select {
			case <-y.stop:
				return
			default:
			}
			if err := cycle(st, c, probe, i); err != nil {
				y.failed.Add(1)
				y.lastErr.Store(err.Error())
				continue
			}
			select {
			case y.first <- time.Now():
			default:
			}
		}
	}()
	return y
}

func (y *cycler) halt() { close(y.stop); <-y.done }

// awaitRecovery waits for the first successful cycle after the promotion
// at promoted and fails the test unless it came within recoveryBound.
func (y *cycler) awaitRecovery(t *testing.T, killed, promoted time.Time) time.Duration {
	t.Helper()
	select {
	case ok := <-y.first:
		rec := max(ok.Sub(promoted), 0)
		t.Logf("promotion %s after the kill; first successful cycle %s after the promotion (%d cycles failed before)",
			promoted.Sub(killed).Round(time.Millisecond), rec.Round(time.Millisecond), y.failed.Load())
		return rec
	case <-time.After(time.Until(promoted.Add(recoveryBound))):
		t.Fatalf("no successful cycle within %s of the promotion (%d failed; last: %v)", recoveryBound, y.failed.Load(), y.lastErr.Load())
		return 0
	}
}

// stable runs n cycles and fails the test on any failure.
func stable(t *testing.T, st *redisstore.Store, c redis.UniversalClient, probe string, n int) {
	t.Helper()
	failed := 0
	var first error
	for i := range n {
		if err := cycle(st, c, probe, 1000+i); err != nil {
			failed++
			first = cmpOr(first, err)
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d cycles failed after the old master rejoined; first: %v", failed, n, first)
	}
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// TestClusterFailover runs the conformance suite on a real 3-master
// Cluster with a replica each, reached through one seed address (the
// master the test kills, the hardest seed to lose), then SIGKILLs that
// master while logins' store traffic runs, and checks that the store works
// again within 5 s of the replica's promotion; then restarts the old
// master, waits until it is a replica in sync, and checks that 100 cycles
// all succeed.
func TestClusterFailover(t *testing.T) {
	cl := sessionstest.StartRedisCluster(t)
	ctx := t.Context()
	probe := "cnsgate-test:probe"
	slot := int(redis.NewClient(&redis.Options{Addr: cl.Addrs[0]}).ClusterKeySlot(ctx, probe).Val())
	victim, err := cl.MasterOf(ctx, slot)
	if err != nil {
		t.Fatal(err)
	}
	c := failoverClient(t, redisstore.ModeCluster, []string{victim.Addr}, "")
	if _, ok := c.(*redis.ClusterClient); !ok {
		t.Fatalf("mode cluster with one seed built a %T", c)
	}
	conformance(t, c)
	st := newFailoverStore(t, c)
	if err := cycle(st, c, probe, -1); err != nil {
		t.Fatalf("cycle before the fault: %v", err)
	}

	y := startCycler(st, c, probe)
	victim.Stop()
	killed := time.Now()
	promoted := cl.WaitPromotion(slot, victim, 20*time.Second)
	y.awaitRecovery(t, killed, promoted)
	y.halt()

	victim.Start()
	rejoin := time.Now()
	y = startCycler(st, c, probe)
	cl.WaitRejoined(victim, 90*time.Second)
	y.halt()
	t.Logf("old master back as a replica in sync %s after its restart; %d cycles failed meanwhile",
		time.Since(rejoin).Round(time.Millisecond), y.failed.Load())
	if n := y.failed.Load(); n > 0 {
		t.Errorf("%d cycles failed while the old master rejoined; last: %v", n, y.lastErr.Load())
	}
	stable(t, st, c, probe, 100)
}

// TestSentinelFailover is TestClusterFailover for Sentinel: one master, one
// replica, three sentinels; the master is SIGKILLed, the promotion is the
// sentinels' +switch-master.
func TestSentinelFailover(t *testing.T) {
	rs := sessionstest.StartRedisSentinel(t)
	c := failoverClient(t, redisstore.ModeSentinel, rs.Addrs, sessionstest.SentinelMaster)
	conformance(t, c)
	st := newFailoverStore(t, c)
	probe := "cnsgate-test:probe"
	if err := cycle(st, c, probe, -1); err != nil {
		t.Fatalf("cycle before the fault: %v", err)
	}

	switched := rs.WatchSwitch()
	y := startCycler(st, c, probe)
	rs.Master.Stop()
	killed := time.Now()
	var sw sessionstest.Switch
	select {
	case sw = <-switched:
	case <-time.After(20 * time.Second):
		t.Fatal("no +switch-master within 20 s of the kill")
	}
	if sw.Master != rs.Replica.Addr {
		t.Fatalf("+switch-master to %s, want the replica %s", sw.Master, rs.Replica.Addr)
	}
	y.awaitRecovery(t, killed, sw.At)
	y.halt()

	rs.Master.Start()
	rejoin := time.Now()
	y = startCycler(st, c, probe)
	rs.WaitRejoined(rs.Master, 90*time.Second)
	y.halt()
	t.Logf("old master back as a replica in sync %s after its restart; %d cycles failed meanwhile",
		time.Since(rejoin).Round(time.Millisecond), y.failed.Load())
	if n := y.failed.Load(); n > 0 {
		t.Errorf("%d cycles failed while the old master rejoined; last: %v", n, y.lastErr.Load())
	}
	stable(t, st, c, probe, 100)
}

func newFailoverStore(t *testing.T, c redis.UniversalClient) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(c, redisstore.StoreOptions{Prefix: testPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
