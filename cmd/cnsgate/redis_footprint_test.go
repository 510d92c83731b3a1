package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// What one full OIDC login costs Redis: what it leaves in memory, the
// commands it sends (every command Redis executes, those inside scripts
// included) and the round trips they take. The limits are what the login
// costs now, so that no change makes it dearer unnoticed; the targets
// (1 KB, 12 commands, 4 round trips) are printed beside the figures and
// in BENCHMARKS.md, with what still stands between them.
const (
	loginRedisBytes      = 1776 + 64 // one allocator size class of slack
	loginRedisCommands   = 25
	loginRedisRoundTrips = 12

	targetRedisBytes, targetRedisCommands, targetRedisRoundTrips = 1024, 12, 4
)

// TestRedisFootprintOfLogin drives a running server with Redis sessions,
// on a Redis of its own so that nothing else is counted, through one full
// OIDC login (/authorize, card login, handoff, code, token exchange) and
// measures it in Redis itself: MEMORY USAGE of every key the login left,
// INFO commandstats and the client reads Redis processed (one per round
// trip) between CONFIG RESETSTAT and the end of the token exchange. It
// prints the figures and the commands as MONITOR saw them, and fails over
// the limits above or on a key without a TTL:
//
//	go test -race -count=1 -run TestRedisFootprintOfLogin -v ./cmd/cnsgate/
func TestRedisFootprintOfLogin(t *testing.T) {
	srv := sessionstest.StartRedisServer(t)
	s := startServer(t, func(y string) string {
		const mem = "sessions:\n  store: memory\n"
		if !strings.Contains(y, mem) {
			t.Fatalf("the demo configuration changed shape (no %q)", mem)
		}
		y = strings.Replace(y, mem, fmt.Sprintf("sessions:\n  store: redis\n  redis:\n    addrs: [%q]\n", srv.Addr), 1)
		return y + "login:\n  confirm_release: false\n" + oidcConfig(t, "")
	})
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rc.Close() })
	ctx := context.Background()

	// A first login of another citizen loads the scripts and warms the
	// pools, as on a server that has been running.
	warm, _ := s.setup.Card("cie")
	s.oidcTokens(t, s.rpBrowser(t, warm), "openid")
	before := redisKeys(t, rc)
	if err := rc.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	monitor := redisMonitor(t, srv.Addr)
	citizen, _ := s.setup.Card("citizen")
	tok := s.oidcTokens(t, s.rpBrowser(t, citizen), "openid")
	if tok["access_token"] == "" || tok["refresh_token"] == nil {
		t.Fatalf("token response without access or refresh token: %v", tok)
	}
	info, err := rc.Info(ctx, "commandstats", "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls, total := commandCalls(info)
	reads := infoInt(info, "total_reads_processed") - 2 // the INFO just sent, MONITOR
	t.Logf("MONITOR:\n%s", monitor())

	var bytes int64
	var lines []string
	for _, k := range redisKeys(t, rc) {
		if slices.Contains(before, k) {
			continue
		}
		use, err := rc.MemoryUsage(ctx, k, 0).Result()
		if err != nil {
			t.Fatal(err)
		}
		ttl, err := rc.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		typ, _ := rc.Type(ctx, k).Result()
		bytes += use
		lines = append(lines, fmt.Sprintf("  %5d B  %-6s ttl %-10s %s", use, typ, ttl, k))
		if ttl <= 0 {
			t.Errorf("key %s has no TTL (%s)", k, ttl)
		}
	}
	t.Logf("one full OIDC login in Redis: %d bytes in %d keys, %d commands in %d round trips (target %d, %d, %d)\nkeys:\n%s\ncommands: %s",
		bytes, len(lines), total, reads, targetRedisBytes, targetRedisCommands, targetRedisRoundTrips,
		strings.Join(lines, "\n"), strings.Join(calls, " "))
	if bytes > loginRedisBytes {
		t.Errorf("the login left %d bytes in Redis, budget %d", bytes, loginRedisBytes)
	}
	if total > loginRedisCommands {
		t.Errorf("the login ran %d Redis commands, budget %d", total, loginRedisCommands)
	}
	if reads > loginRedisRoundTrips {
		t.Errorf("the login took %d round trips to Redis, budget %d", reads, loginRedisRoundTrips)
	}
}

// redisMonitor opens a MONITOR connection to addr and returns a function
// giving the commands it has seen, one per line, without this test's own.
func redisMonitor(t *testing.T, addr string) func() string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
		t.Fatalf("MONITOR: %q %v", line, err)
	}
	var mu sync.Mutex
	var lines []string
	go func() {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			mu.Lock()
			lines = append(lines, strings.TrimSpace(strings.TrimPrefix(line, "+")))
			mu.Unlock()
		}
	}()
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, l := range lines {
			if !strings.Contains(l, `"info"`) && !strings.Contains(l, `"INFO"`) {
				out = append(out, "  "+l)
			}
		}
		return strings.Join(out, "\n")
	}
}

// redisKeys lists every key of the database, sorted.
func redisKeys(t *testing.T, rc *redis.Client) []string {
	t.Helper()
	var keys []string
	iter := rc.Scan(context.Background(), 0, "*", 100).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// commandCalls reads INFO commandstats: "name=calls" for every command but
// the measurement's own CONFIG RESETSTAT and MONITOR, and their total.
func commandCalls(info string) ([]string, int) {
	var out []string
	total := 0
	for line := range strings.SplitSeq(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		name, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd || name == "config|resetstat" || name == "monitor" {
			continue
		}
		n, _ := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
		total += n
		out = append(out, fmt.Sprintf("%s=%d", name, n))
	}
	return out, total
}

// infoInt reads the integer field name of an INFO answer.
func infoInt(info, name string) int {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return -1
}
