package sessionstest

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterNodeTimeout is the cluster-node-timeout of StartRedisCluster: a
// master is failed over about two of these after it stops answering.
const ClusterNodeTimeout = 1000 * time.Millisecond

// RedisCluster is a Redis Cluster of the test's own: three masters with one
// replica each, six redis-server processes on spare loopback ports (each
// with its cluster bus on another spare port), created with
// `redis-cli --cluster create --cluster-replicas 1`.
type RedisCluster struct {
	Nodes []*RedisServer // in creation order; roles change with failovers
	Addrs []string       // every node's address: seeds for a client

	t testing.TB
}

// StartRedisCluster starts the six nodes, creates the cluster and waits
// until every node sees it healthy (cluster_state:ok, six known nodes, every
// replica in sync). It fails the test when redis-server or redis-cli is
// missing.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	bin, cli := redisBinary(t, "redis-server"), redisBinary(t, "redis-cli")
	c := &RedisCluster{t: t}
	for range 6 {
		bus := freePort(t)
		n := startRedis(t, bin, "", func(int) []string {
			return []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-port", strconv.Itoa(bus),
				"--cluster-node-timeout", strconv.Itoa(int(ClusterNodeTimeout / time.Millisecond)),
				// Fail over whatever the replica's lag: the test kills masters.
				"--cluster-replica-validity-factor", "0"}
		})
		c.Nodes = append(c.Nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitHealthy(30 * time.Second)
	return c
}

// ClusterNode is one line of CLUSTER NODES.
type ClusterNode struct {
	ID, Addr, MasterID string
	Flags              []string
	Slots              []string // ranges such as "0-5460"
}

// Master reports whether the node is a master that is not failing.
func (n ClusterNode) Master() bool {
	return slices.Contains(n.Flags, "master") && !n.Failing()
}

// Failing reports whether the node is flagged fail or fail?.
func (n ClusterNode) Failing() bool {
	return slices.Contains(n.Flags, "fail") || slices.Contains(n.Flags, "fail?")
}

// Topology returns CLUSTER NODES as seen by the node at addr.
func Topology(ctx context.Context, addr string) ([]ClusterNode, error) {
	cl := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 300 * time.Millisecond,
		ReadTimeout: 300 * time.Millisecond, MaxRetries: -1, DialerRetries: 1})
	defer cl.Close()
	text, err := cl.ClusterNodes(ctx).Result()
	if err != nil {
		return nil, err
	}
	var nodes []ClusterNode
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		n := ClusterNode{ID: f[0], Addr: strings.SplitN(f[1], "@", 2)[0], Flags: strings.Split(f[2], ","), Slots: f[8:]}
		n.Flags = slices.DeleteFunc(n.Flags, func(s string) bool { return s == "myself" })
		if f[3] != "-" {
			n.MasterID = f[3]
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// waitHealthy waits until every running node reports cluster_state:ok and
// knows the others, and every replica's link to its master is up.
func (c *RedisCluster) waitHealthy(timeout time.Duration) {
	c.t.Helper()
	var last string
	Eventually(c.t, timeout, func() bool {
		for _, n := range c.running() {
			if msg := nodeHealthy(n.Addr, len(c.Nodes)); msg != "" {
				last = n.Addr + ": " + msg
				return false
			}
		}
		return true
	}, func() string { return "the cluster did not become healthy: " + last })
}

func (c *RedisCluster) running() []*RedisServer {
	var r []*RedisServer
	for _, n := range c.Nodes {
		if n.Running() {
			r = append(r, n)
		}
	}
	return r
}

// nodeHealthy returns "" when the node at addr sees a healthy cluster of
// size nodes, else what is missing.
func nodeHealthy(addr string, size int) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cl := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	defer cl.Close()
	info, err := cl.ClusterInfo(ctx).Result()
	if err != nil {
		return err.Error()
	}
	if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(size)) {
		f := strings.Fields(info)
		return "CLUSTER INFO: " + strings.Join(f[:min(len(f), 6)], " ")
	}
	repl, err := cl.Info(ctx, "replication").Result()
	if err != nil {
		return err.Error()
	}
	if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
		return "replica not in sync"
	}
	if nodes, err := Topology(ctx, addr); err != nil || slices.ContainsFunc(nodes, ClusterNode.Failing) {
		return fmt.Sprintf("a node is flagged failing (%v)", err)
	}
	return ""
}

// MasterOf returns the running node that serves slot as master, as the
// other nodes see it.
func (c *RedisCluster) MasterOf(ctx context.Context, slot int) (*RedisServer, error) {
	for _, n := range c.running() {
		nodes, err := Topology(ctx, n.Addr)
		if err != nil {
			continue
		}
		for _, cn := range nodes {
			if cn.Master() && slotsCover(cn.Slots, slot) {
				return c.node(cn.Addr), nil
			}
		}
	}
	return nil, fmt.Errorf("no node serves slot %d", slot)
}

func (c *RedisCluster) node(addr string) *RedisServer {
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

func slotsCover(ranges []string, slot int) bool {
	for _, r := range ranges {
		lo, hi, ok := strings.Cut(r, "-")
		if strings.HasPrefix(r, "[") { // a slot being migrated
			continue
		}
		if !ok {
			hi = lo
		}
		l, err1 := strconv.Atoi(lo)
		h, err2 := strconv.Atoi(hi)
		if err1 == nil && err2 == nil && l <= slot && slot <= h {
			return true
		}
	}
	return false
}

// WaitPromotion waits until every running node sees a master other than
// killed serving slot, polling CLUSTER NODES every 20 ms, and returns when
// it first saw that: the moment of the promotion.
func (c *RedisCluster) WaitPromotion(slot int, killed *RedisServer, timeout time.Duration) time.Time {
	c.t.Helper()
	var at time.Time
	Eventually(c.t, timeout, func() bool {
		for _, n := range c.running() {
			m, err := c.masterSeenBy(n.Addr, slot)
			if err != nil || m == killed.Addr {
				return false
			}
		}
		at = time.Now()
		return true
	}, func() string { return fmt.Sprintf("no replica took over slot %d from %s", slot, killed.Addr) })
	return at
}

func (c *RedisCluster) masterSeenBy(addr string, slot int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	nodes, err := Topology(ctx, addr)
	if err != nil {
		return "", err
	}
	for _, cn := range nodes {
		if slices.Contains(cn.Flags, "master") && slotsCover(cn.Slots, slot) {
			return cn.Addr, nil
		}
	}
	return "", fmt.Errorf("%s sees no master of slot %d", addr, slot)
}

// WaitRejoined waits until node, restarted, is a replica in sync and the
// whole cluster is healthy again.
func (c *RedisCluster) WaitRejoined(node *RedisServer, timeout time.Duration) {
	c.t.Helper()
	Eventually(c.t, timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cl := redis.NewClient(&redis.Options{Addr: node.Addr, MaxRetries: -1, DialerRetries: 1})
		defer cl.Close()
		repl, err := cl.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(repl, "role:slave") && strings.Contains(repl, "master_link_status:up")
	}, func() string { return node.Addr + " did not rejoin as a replica" })
	c.waitHealthy(timeout)
}
