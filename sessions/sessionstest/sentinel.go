package sessionstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the master name StartRedisSentinel's sentinels monitor.
const SentinelMaster = "cnsgate"

// RedisSentinel is a Sentinel deployment of the test's own: one master, one
// replica and three sentinels (redis-server --sentinel, quorum 2,
// down-after-milliseconds 1000, failover-timeout 5000), all on spare
// loopback ports.
type RedisSentinel struct {
	Master, Replica *RedisServer // as started; roles change with failovers
	Sentinels       []*RedisServer
	Addrs           []string // the sentinels' addresses: what a client is given

	t testing.TB
}

// StartRedisSentinel starts the five processes and waits until every
// sentinel knows the replica and the two other sentinels, so that a
// failover can be agreed. It fails the test when redis-server is missing.
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	bin := redisBinary(t, "redis-server")
	s := &RedisSentinel{t: t}
	s.Master = startRedis(t, bin, "", nil)
	_, mport, _ := net.SplitHostPort(s.Master.Addr)
	s.Replica = startRedis(t, bin, "", func(int) []string {
		return []string{"--replicaof", "127.0.0.1", mport}
	})
	for i := range 3 {
		conf := filepath.Join(t.TempDir(), "sentinel-"+strconv.Itoa(i)+".conf")
		text := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]s 2\n"+
			"sentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 5000\n"+
			"sentinel parallel-syncs %[1]s 1\n", SentinelMaster, mport)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil { // sentinels rewrite it
			t.Fatal(err)
		}
		n := startRedis(t, bin, conf, func(int) []string { return []string{"--sentinel"} })
		s.Sentinels = append(s.Sentinels, n)
		s.Addrs = append(s.Addrs, n.Addr)
	}
	Eventually(t, 30*time.Second, s.ready, func() string { return "the sentinels did not discover each other and the replica" })
	return s
}

// ready reports whether every sentinel sees the master up with one replica
// and two other sentinels, and the replica is in sync.
func (s *RedisSentinel) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, n := range s.Sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: n.Addr, MaxRetries: -1, DialerRetries: 1})
		m, err := sc.Master(ctx, SentinelMaster).Result()
		sc.Close()
		if err != nil || m["num-slaves"] != "1" || m["num-other-sentinels"] != "2" || strings.Contains(m["flags"], "down") {
			return false
		}
	}
	return replicaInSync(ctx, s.Replica.Addr)
}

func replicaInSync(ctx context.Context, addr string) bool {
	cl := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	defer cl.Close()
	repl, err := cl.Info(ctx, "replication").Result()
	return err == nil && strings.Contains(repl, "role:slave") && strings.Contains(repl, "master_link_status:up")
}

// WatchSwitch subscribes to +switch-master on the first sentinel and
// returns a channel that receives the moment the message arrives, with the
// new master's address. Call it before the fault.
func (s *RedisSentinel) WatchSwitch() <-chan Switch {
	s.t.Helper()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinels[0].Addr})
	ps := sc.Subscribe(context.Background(), "+switch-master")
	if _, err := ps.Receive(context.Background()); err != nil { // the subscription confirmation
		s.t.Fatalf("subscribing to +switch-master: %v", err)
	}
	s.t.Cleanup(func() { ps.Close(); sc.Close() })
	out := make(chan Switch, 1)
	go func() {
		for msg := range ps.Channel() {
			// "<name> <old ip> <old port> <new ip> <new port>"
			f := strings.Fields(msg.Payload)
			if len(f) == 5 && f[0] == SentinelMaster {
				out <- Switch{At: time.Now(), Master: net.JoinHostPort(f[3], f[4])}
				return
			}
		}
	}()
	return out
}

// Switch is one +switch-master message.
type Switch struct {
	At     time.Time
	Master string
}

// WaitRejoined waits until node, restarted, has been turned into a replica
// by the sentinels and is in sync.
func (s *RedisSentinel) WaitRejoined(node *RedisServer, timeout time.Duration) {
	s.t.Helper()
	Eventually(s.t, timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return replicaInSync(ctx, node.Addr)
	}, func() string { return node.Addr + " did not rejoin as a replica" })
}
