package redisstore_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
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
	shape := regexp.MustCompile(`^` + regexp.QuoteMeta(p) + `(s:|cf:|card:|e:handoff:|e:samlid:)` + hex64 + `$`)
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

func TestRealTTLExpiry(t *testing.T) {
	c := testClient(t)
	ctx := t.Context()
	p := testPrefix()
	st := newStore(t, c, redisstore.StoreOptions{Prefix: p, Grace: 10 * time.Millisecond})
	eph := st.Ephemeral()

	id, err := st.Create(ctx, realSession("RSSMRA85T10A562S"), time.Second, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := eph.Put(ctx, "handoff", "code", []byte("v"), time.Second); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		key      string
		min, max time.Duration
	}{
		{"session", p + "s:{" + sessions.HashKey(id) + "}", 900 * time.Millisecond, 1010 * time.Millisecond},
		{"citizen-index", p + "cf:{" + sessions.HashKey("RSSMRA85T10A562S") + "}", 1900 * time.Millisecond, 2010 * time.Millisecond},
		{"card-index", p + "card:{" + sessions.HashKey("card of RSSMRA85T10A562S") + "}", 1900 * time.Millisecond, 2010 * time.Millisecond},
		{"ephemeral", p + "e:handoff:{" + sessions.HashKey("code") + "}", 900 * time.Millisecond, 1010 * time.Millisecond},
	} {
		ttl, err := c.PTTL(ctx, tc.key).Result()
		if err != nil || ttl < tc.min || ttl > tc.max {
			t.Errorf("%s: PTTL of %s = %s, %v; want within [%s, %s]", tc.name, tc.key, ttl, err, tc.min, tc.max)
		}
	}

	eventually(t, 3*time.Second, "the session key outlived its idle deadline", func() bool {
		_, err := st.Get(ctx, id)
		return errors.Is(err, sessions.ErrNotFound)
	})
	if _, err := eph.Get(ctx, "handoff", "code"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("ephemeral Get after its TTL: %v", err)
	}
	// The citizen index still names the vanished session until read.
	if n := c.SCard(ctx, p+"cf:{"+sessions.HashKey("RSSMRA85T10A562S")+"}").Val(); n != 1 {
		t.Fatalf("citizen index holds %d members before being read, want the stale one", n)
	}
	if got, err := st.ListByFiscalCode(ctx, "RSSMRA85T10A562S"); err != nil || len(got) != 0 {
		t.Fatalf("ListByFiscalCode = %d sessions, %v", len(got), err)
	}
	eventually(t, 3*time.Second, "keys left under the prefix", func() bool {
		return len(keysUnder(ctx, t, c, p)) == 0
	})
}

func TestTouchExtendsRealTTL(t *testing.T) {
	c := testClient(t)
	ctx := t.Context()
	st := newStore(t, c, redisstore.StoreOptions{Grace: 10 * time.Millisecond})
	id, err := st.Create(ctx, realSession("BNCLRA90E45F205X"), time.Second, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // 1.8 s in all, beyond the first idle deadline
		time.Sleep(600 * time.Millisecond)
		if err := st.Touch(ctx, id); err != nil {
			t.Fatalf("Touch: %v", err)
		}
	}
	if _, err := st.Get(ctx, id); err != nil {
		t.Fatalf("Get of a touched session: %v", err)
	}
}
