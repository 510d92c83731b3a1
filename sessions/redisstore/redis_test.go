package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// testClient returns a client of the shared test Redis (see
// sessionstest.RedisAddr), closed when the test ends.
func testClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	addr := sessionstest.RedisAddr(t)
	c, err := redisstore.NewClient(redisstore.Options{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testPrefix returns a fresh random key prefix.
func testPrefix() string { return "cnsgate-test:" + rand.Text()[:12] + ":" }

// newStore returns a store under o.Prefix, or a fresh random prefix when it
// is empty, and deletes every key under it when the test ends.
func newStore(t testing.TB, c redis.UniversalClient, o redisstore.StoreOptions) *redisstore.Store {
	t.Helper()
	if o.Prefix == "" {
		o.Prefix = testPrefix()
	}
	st, err := redisstore.New(c, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // t.Context() is already cancelled here
		ctx := context.Background()
		if keys := keysUnder(ctx, t, c, o.Prefix); len(keys) > 0 {
			if err := c.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("cleaning %d keys under %s: %v", len(keys), o.Prefix, err)
			}
		}
	})
	return st
}

// keysUnder lists the keys starting with prefix (SCAN, never KEYS).
func keysUnder(ctx context.Context, t testing.TB, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN %s*: %v", prefix, err)
	}
	return keys
}

// randomCode returns a secret-looking value, like a handoff code.
func randomCode() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestConformance runs the shared suite against a real Redis; each case gets
// its own key prefix.
func TestConformance(t *testing.T) {
	c := testClient(t)
	sessionstest.Run(t, func(t *testing.T, clock *sessionstest.Clock) (sessions.Store, sessions.Ephemeral) {
		st := newStore(t, c, redisstore.StoreOptions{Now: clock.Now})
		return st, st.Ephemeral()
	})
}

// TestNewClient checks the mode NewClient picks. Clients connect lazily, so
// nothing is dialled; the addresses are unused loopback ports.
func TestNewClient(t *testing.T) {
	for _, c := range []struct {
		name    string
		opts    redisstore.Options
		want    string // "standalone", "cluster", "sentinel" or "" for an error
		wantErr bool
	}{
		{"ok/standalone", redisstore.Options{Addrs: []string{"127.0.0.1:1"}, DB: 3}, "standalone", false},
		{"ok/cluster", redisstore.Options{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}}, "cluster", false},
		{"ok/sentinel", redisstore.Options{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}, MasterName: "cnsgate", DB: 1}, "sentinel", false},
		{"ok/cluster-one-seed", redisstore.Options{Mode: redisstore.ModeCluster, Addrs: []string{"127.0.0.1:1"}}, "cluster", false},
		{"ok/sentinel-explicit", redisstore.Options{Mode: redisstore.ModeSentinel, Addrs: []string{"127.0.0.1:1"}, MasterName: "cnsgate"}, "sentinel", false},
		{"ok/standalone-explicit", redisstore.Options{Mode: redisstore.ModeStandalone, Addrs: []string{"127.0.0.1:1"}}, "standalone", false},
		{"fail/no-address", redisstore.Options{}, "", true},
		{"fail/cluster-with-db", redisstore.Options{Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}, DB: 2}, "", true},
		{"fail/unknown-mode", redisstore.Options{Mode: "ring", Addrs: []string{"127.0.0.1:1"}}, "", true},
		{"fail/standalone-several-addrs", redisstore.Options{Mode: redisstore.ModeStandalone, Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}}, "", true},
		{"fail/sentinel-without-master", redisstore.Options{Mode: redisstore.ModeSentinel, Addrs: []string{"127.0.0.1:1"}}, "", true},
		{"fail/cluster-with-master-name", redisstore.Options{Mode: redisstore.ModeCluster, Addrs: []string{"127.0.0.1:1"}, MasterName: "m"}, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, err := redisstore.NewClient(c.opts)
			if (err != nil) != c.wantErr {
				t.Fatalf("NewClient error %v, want error %t", err, c.wantErr)
			}
			if err != nil {
				return
			}
			defer cl.Close()
			got := "?"
			switch v := cl.(type) {
			case *redis.ClusterClient:
				got = "cluster"
			case *redis.Client:
				got = "standalone"
				if v.Options().Addr == "FailoverClient" { // how go-redis marks Sentinel clients
					got = "sentinel"
				}
				if v.Options().DB != c.opts.DB {
					t.Errorf("DB = %d, want %d", v.Options().DB, c.opts.DB)
				}
			}
			if got != c.want {
				t.Fatalf("NewClient built a %s client (%T), want %s", got, cl, c.want)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	cl, err := redisstore.NewClient(redisstore.Options{Addrs: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, c := range []struct {
		name   string
		client redis.UniversalClient
		prefix string
	}{
		{"fail/nil-client", nil, ""},
		{"fail/brace-in-prefix", cl, "cnsgate:{x}:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if st, err := redisstore.New(c.client, redisstore.StoreOptions{Prefix: c.prefix}); err == nil {
				t.Fatalf("New = %v, want an error", st)
			}
		})
	}
}
