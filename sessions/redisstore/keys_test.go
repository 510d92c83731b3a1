package redisstore_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
	"github.com/redis/go-redis/v9"
)

// TestKeysHoldNoSecrets scans every key the store wrote and checks that no
// session id, code, request id or fiscal code appears in a key name, that
// no session id appears in a value, and that every key expires.
func TestKeysHoldNoSecrets(t *testing.T) {
	c := testClient(t)
	ctx := t.Context()
	p := testPrefix()
	st := newStore(t, c, redisstore.StoreOptions{Prefix: p})
	eph := st.Ephemeral()

	secrets := map[string]string{} // value → what it is
	for _, cf := range []string{"RSSMRA85T10A562S", "BNCLRA90E45F205X"} {
		secrets[cf] = "fiscal code"
		for range 2 {
			s := realSession(cf)
			s.Participants = []sessions.Participant{{Protocol: sessions.ProtocolSAML, ClientID: "https://sp.example.it", NameID: cf}}
			id, err := st.Create(ctx, s, 15*time.Minute, 8*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			secrets[id] = "session id"
			code := randomCode()
			secrets[code] = "handoff code"
			if err := eph.Put(ctx, "handoff", code, []byte("session record"), 30*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	reqID := "_" + randomCode()
	secrets[reqID] = "SAML request id"
	if ok, err := eph.PutNew(ctx, "samlid", reqID, []byte("1"), time.Hour); !ok || err != nil {
		t.Fatalf("PutNew: %t, %v", ok, err)
	}

	hex64 := `\{[0-9a-f]{64}\}`
	shape := regexp.MustCompile(`^` + regexp.QuoteMeta(p) + `(s:|c:|k:|e:handoff:|e:samlid:)` + hex64 + `$`)
	keys := keysUnder(ctx, t, c, p)
	// 4 sessions, 2 citizen and 2 card indexes, 4 codes, 1 request id.
	if len(keys) != 13 {
		t.Fatalf("found %d keys, want 13: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !shape.MatchString(k) {
			t.Errorf("key %q has an unexpected shape", k)
		}
		for secret, what := range secrets {
			if strings.Contains(k, secret) {
				t.Errorf("key %q holds a %s in clear", k, what)
			}
		}
		if ttl := c.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %q has no TTL (%s)", k, ttl)
		}
		if strings.HasPrefix(k, p+"s:") {
			for field, val := range c.HGetAll(ctx, k).Val() {
				for secret, what := range secrets {
					if what == "session id" && (strings.Contains(val, secret) || strings.Contains(field, secret)) {
						t.Errorf("session hash %q field %q holds a session id", k, field)
					}
				}
			}
		}
	}
}

// The conformance suite drives deadlines with a fake clock; these tests
// check that Redis's own TTLs, in real time, clean everything up.

func realSession(cf string) *sessions.Session {
	return &sessions.Session{FiscalCode: cf, CardFingerprint: sessions.HashKey("card of " + cf), AuthTime: time.Now()}
}

// eventually polls cond every 50 ms until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
	}
}

// gone reports whether Redis no longer holds key; an error fails the test.
func gone(ctx context.Context, t *testing.T, c redis.UniversalClient, key string) bool {
	t.Helper()
	n, err := c.Exists(ctx, key).Result()
	if err != nil {
		t.Fatalf("EXISTS %s: %v", key, err)
	}
	return n == 0
}

// pttl is the remaining TTL of key; an error fails the test.
func pttl(ctx context.Context, t *testing.T, c redis.UniversalClient, key string) time.Duration {
	t.Helper()
	ttl, err := c.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	return ttl
}

func TestRealTTLExpiry(t *testing.T) {
	c := testClient(t)
	ctx := t.Context()
	p := testPrefix()
	const grace = 10 * time.Millisecond
	st := newStore(t, c, redisstore.StoreOptions{Prefix: p, Grace: grace})
	eph := st.Ephemeral()

	start := time.Now()
	id, err := st.Create(ctx, realSession("RSSMRA85T10A562S"), time.Second, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := eph.Put(ctx, "handoff", "code", []byte("v"), time.Second); err != nil {
		t.Fatal(err)
	}
	sessionKey := p + "s:{" + sessions.HashKey(id) + "}"
	ephKey := p + "e:handoff:{" + sessions.HashKey("code") + "}"
	for _, tc := range []struct {
		name string
		key  string
		full time.Duration // the TTL set: deadline plus grace
	}{
		{"session", sessionKey, time.Second + grace},
		{"citizen-index", p + "c:{" + sessions.HashKey("RSSMRA85T10A562S") + "}", 2*time.Second + grace},
		{"card-index", p + "k:{" + sessions.HashKey("card of RSSMRA85T10A562S") + "}", 2*time.Second + grace},
		{"ephemeral", ephKey, time.Second + grace},
	} {
		ttl := pttl(ctx, t, c, tc.key)
		// The TTL ran down by at most the time since Create (PTTL rounds
		// down to the millisecond).
		lowest := tc.full - time.Since(start) - time.Millisecond
		if ttl < lowest || ttl > tc.full {
			t.Errorf("%s: PTTL of %s = %s; want within [%s, %s]", tc.name, tc.key, ttl, lowest, tc.full)
		}
	}

	// Redis itself drops the session and the ephemeral value once their
	// deadline and grace have passed; what the store answers follows.
	eventually(t, 3*time.Second, "Redis kept the session key past its idle deadline", func() bool {
		return gone(ctx, t, c, sessionKey)
	})
	eventually(t, 3*time.Second, "Redis kept the ephemeral key past its deadline", func() bool {
		return gone(ctx, t, c, ephKey)
	})
	if _, err := st.Get(ctx, id); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Get after the session key expired: %v", err)
	}
	if _, err := eph.Get(ctx, "handoff", "code"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("ephemeral Get after its TTL: %v", err)
	}
	// The citizen index still names the vanished session until read.
	if n := c.HLen(ctx, p+"c:{"+sessions.HashKey("RSSMRA85T10A562S")+"}").Val(); n != 1 {
		t.Fatalf("citizen index holds %d members before being read, want the stale one", n)
	}
	if got, err := st.ListByFiscalCode(ctx, "RSSMRA85T10A562S"); err != nil || len(got) != 0 {
		t.Fatalf("ListByFiscalCode = %d sessions, %v", len(got), err)
	}
	eventually(t, 3*time.Second, "keys left under the prefix", func() bool {
		return len(keysUnder(ctx, t, c, p)) == 0
	})
}

// TestTouchExtendsRealTTL touches a session each time its key has run down
// to below half of the idle timeout, until well past the first idle
// deadline: each Touch must put the key's TTL back up.
func TestTouchExtendsRealTTL(t *testing.T) {
	c := testClient(t)
	ctx := t.Context()
	const idle, grace = 2 * time.Second, 10 * time.Millisecond
	p := testPrefix()
	st := newStore(t, c, redisstore.StoreOptions{Prefix: p, Grace: grace})
	created := time.Now()
	id, err := st.Create(ctx, realSession("BNCLRA90E45F205X"), idle, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	key := p + "s:{" + sessions.HashKey(id) + "}"
	for time.Since(created) <= idle+grace {
		var before time.Duration
		eventually(t, 2*idle, "the session key's TTL never ran down", func() bool {
			before = pttl(ctx, t, c, key)
			return before < idle/2
		})
		touched := time.Now()
		if err := st.Touch(ctx, id); err != nil {
			t.Fatalf("Touch with %s left: %v", before, err)
		}
		after := pttl(ctx, t, c, key)
		if lowest := idle + grace - time.Since(touched) - time.Millisecond; after < lowest || after <= before {
			t.Fatalf("PTTL after Touch = %s (before %s); want at least %s", after, before, lowest)
		}
	}
	if _, err := st.Get(ctx, id); err != nil {
		t.Fatalf("Get of a touched session past its first idle deadline: %v", err)
	}
}
