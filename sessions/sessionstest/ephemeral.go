package sessionstest

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// Namespaces the login flow uses; the cases use them too.
const (
	nsHandoff = "handoff"
	nsSAMLID  = "samlid"
	handoff   = 30 * time.Second
)

func (e *env) put(t *testing.T, ns, key string, val []byte, ttl time.Duration) {
	t.Helper()
	if err := e.eph.Put(e.ctx, ns, key, val, ttl); err != nil {
		t.Fatalf("Put(%s, %s): %v", ns, key, err)
	}
}

func (e *env) wantValue(t *testing.T, what string, got []byte, err error, want []byte) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(got, want) || got == nil {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

var ephemeralCases = []testCase{
	{"fail/value-too-large", func(t *testing.T, e *env) {
		// Backends built with their default options bound a value at
		// sessions.DefaultMaxValueBytes, so that no flood of values can
		// exhaust the store.
		big := make([]byte, sessions.DefaultMaxValueBytes+1)
		if err := e.eph.Put(e.ctx, nsHandoff, "big", big, handoff); !errors.Is(err, sessions.ErrTooLarge) {
			t.Fatalf("Put of %d bytes = %v, want ErrTooLarge", len(big), err)
		}
		if _, err := e.eph.PutNew(e.ctx, nsSAMLID, "big", big, handoff); !errors.Is(err, sessions.ErrTooLarge) {
			t.Fatalf("PutNew of %d bytes = %v, want ErrTooLarge", len(big), err)
		}
		_, err := e.eph.Get(e.ctx, nsHandoff, "big")
		wantNotFound(t, "Get of the refused value", err)
		e.put(t, nsHandoff, "max", big[:sessions.DefaultMaxValueBytes], handoff)
	}},
	{"ok/put-get", func(t *testing.T, e *env) {
		e.put(t, nsHandoff, "code-1", []byte("first"), handoff)
		got, err := e.eph.Get(e.ctx, nsHandoff, "code-1")
		e.wantValue(t, "Get", got, err, []byte("first"))
		got, err = e.eph.Get(e.ctx, nsHandoff, "code-1")
		e.wantValue(t, "second Get", got, err, []byte("first"))
		e.put(t, nsHandoff, "code-1", []byte("second"), handoff)
		got, err = e.eph.Get(e.ctx, nsHandoff, "code-1")
		e.wantValue(t, "Get after a second Put", got, err, []byte("second"))
		_, err = e.eph.Get(e.ctx, "authz", "code-1")
		wantNotFound(t, "Get in another namespace", err)
		_, err = e.eph.Get(e.ctx, nsHandoff, "code-2")
		wantNotFound(t, "Get of another key", err)
	}},
	{"ok/binary-and-empty-values", func(t *testing.T, e *env) {
		for _, c := range []struct {
			name, key string
			val       []byte
		}{
			{"binary", "k-binary", []byte{0, ':', 0xff, '\n', 0, '1', '2'}},
			{"colon-prefix", "k-colon", []byte("17:00:00")},
			{"empty", "k-empty", []byte{}},
			{"nil", "k-nil", nil},
		} {
			e.put(t, nsHandoff, c.key, c.val, handoff)
			want := c.val
			if want == nil {
				want = []byte{}
			}
			got, err := e.eph.Take(e.ctx, nsHandoff, c.key)
			e.wantValue(t, c.name, got, err, want)
		}
	}},
	{"fail/put-new-twice", func(t *testing.T, e *env) {
		for i, want := range []bool{true, false} {
			ok, err := e.eph.PutNew(e.ctx, nsSAMLID, "_request-1", []byte{byte('a' + i)}, time.Hour)
			if err != nil || ok != want {
				t.Fatalf("PutNew #%d = %t, %v; want %t", i+1, ok, err, want)
			}
		}
		got, err := e.eph.Get(e.ctx, nsSAMLID, "_request-1")
		e.wantValue(t, "value after a refused PutNew", got, err, []byte("a"))
	}},
	{"fail/take-twice", func(t *testing.T, e *env) {
		e.put(t, nsHandoff, "code-1", []byte("session record"), handoff)
		got, err := e.eph.Take(e.ctx, nsHandoff, "code-1")
		e.wantValue(t, "first Take", got, err, []byte("session record"))
		_, err = e.eph.Take(e.ctx, nsHandoff, "code-1")
		wantNotFound(t, "second Take", err)
		_, err = e.eph.Get(e.ctx, nsHandoff, "code-1")
		wantNotFound(t, "Get after Take", err)
	}},
	{"ok/concurrent-take-one-winner", func(t *testing.T, e *env) {
		e.put(t, nsHandoff, "code-race", []byte("v"), handoff)
		wins, errs := raceN(20, func() (bool, error) {
			_, err := e.eph.Take(e.ctx, nsHandoff, "code-race")
			if errors.Is(err, sessions.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		})
		if errs != nil || wins != 1 {
			t.Fatalf("20 concurrent Takes: %d won, errors %v; want exactly one winner", wins, errs)
		}
	}},
	{"ok/concurrent-put-new-one-winner", func(t *testing.T, e *env) {
		wins, errs := raceN(20, func() (bool, error) {
			return e.eph.PutNew(e.ctx, nsSAMLID, "_request-race", []byte("seen"), time.Hour)
		})
		if errs != nil || wins != 1 {
			t.Fatalf("20 concurrent PutNews: %d stored, errors %v; want exactly one", wins, errs)
		}
	}},
	{"fail/ttl-expiry", func(t *testing.T, e *env) {
		e.put(t, nsHandoff, "code-1", []byte("v"), handoff)
		e.put(t, nsHandoff, "code-2", []byte("v"), handoff)
		if ok, err := e.eph.PutNew(e.ctx, nsSAMLID, "_r1", []byte("v"), handoff); !ok || err != nil {
			t.Fatalf("PutNew: %t, %v", ok, err)
		}
		e.clock.Advance(handoff - time.Millisecond)
		got, err := e.eph.Get(e.ctx, nsHandoff, "code-1")
		e.wantValue(t, "Get just before the TTL", got, err, []byte("v"))
		e.clock.Advance(time.Millisecond)
		_, err = e.eph.Get(e.ctx, nsHandoff, "code-1")
		wantNotFound(t, "Get at the TTL", err)
		_, err = e.eph.Take(e.ctx, nsHandoff, "code-2")
		wantNotFound(t, "Take at the TTL", err)
		if ok, err := e.eph.PutNew(e.ctx, nsSAMLID, "_r1", []byte("w"), handoff); !ok || err != nil {
			t.Fatalf("PutNew over an expired value = %t, %v; want true", ok, err)
		}
		got, err = e.eph.Take(e.ctx, nsSAMLID, "_r1")
		e.wantValue(t, "Take of the new value", got, err, []byte("w"))
	}},
	{"ok/get-many-put-many", func(t *testing.T, e *env) {
		// sessions.GetMany and PutMany: one round trip on a Batcher, one
		// value after another otherwise; the same answers either way.
		err := sessions.PutMany(e.ctx, e.eph,
			sessions.Entry{NS: nsHandoff, Key: "m-1", Val: []byte("one"), TTL: handoff},
			sessions.Entry{NS: nsSAMLID, Key: "m-2", Val: []byte{}, TTL: 2 * handoff})
		if err != nil {
			t.Fatalf("PutMany: %v", err)
		}
		got, err := e.eph.Get(e.ctx, nsSAMLID, "m-2")
		e.wantValue(t, "Get of a value put by PutMany", got, err, []byte{})
		refs := []sessions.Ref{{NS: nsHandoff, Key: "m-1"}, {NS: nsHandoff, Key: "absent"}, {NS: nsSAMLID, Key: "m-2"}}
		vals, err := sessions.GetMany(e.ctx, e.eph, refs...)
		if err != nil || len(vals) != 3 || string(vals[0]) != "one" || vals[1] != nil || vals[2] == nil || len(vals[2]) != 0 {
			t.Fatalf("GetMany = %q, %v; want one, nil, empty", vals, err)
		}
		e.clock.Advance(handoff)
		vals, err = sessions.GetMany(e.ctx, e.eph, refs...)
		if err != nil || vals[0] != nil || vals[2] == nil {
			t.Fatalf("GetMany at the first TTL = %q, %v; want nil, nil, empty", vals, err)
		}
		if _, err := sessions.GetMany(e.ctx, e.eph, sessions.Ref{NS: "bad ns", Key: "k"}); err == nil {
			t.Fatal("GetMany accepted a bad namespace")
		}
		big := make([]byte, sessions.DefaultMaxValueBytes+1)
		if err := sessions.PutMany(e.ctx, e.eph, sessions.Entry{NS: nsHandoff, Key: "m-3", Val: []byte("x"), TTL: handoff},
			sessions.Entry{NS: nsHandoff, Key: "m-4", Val: big, TTL: handoff}); !errors.Is(err, sessions.ErrTooLarge) {
			t.Fatalf("PutMany with a value too large = %v, want ErrTooLarge", err)
		}
	}},
	{"ok/delete", func(t *testing.T, e *env) {
		e.put(t, nsHandoff, "code-1", []byte("v"), handoff)
		if err := e.eph.Delete(e.ctx, nsHandoff, "code-1"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err := e.eph.Get(e.ctx, nsHandoff, "code-1")
		wantNotFound(t, "Get after Delete", err)
		if err := e.eph.Delete(e.ctx, nsHandoff, "code-1"); err != nil {
			t.Fatalf("Delete of an absent key: %v", err)
		}
	}},
	{"fail/bad-ttl", func(t *testing.T, e *env) {
		for _, ttl := range []time.Duration{0, -time.Second} {
			if err := e.eph.Put(e.ctx, nsHandoff, "k", []byte("v"), ttl); err == nil {
				t.Errorf("Put with ttl %s: no error", ttl)
			}
			if _, err := e.eph.PutNew(e.ctx, nsHandoff, "k", []byte("v"), ttl); err == nil {
				t.Errorf("PutNew with ttl %s: no error", ttl)
			}
		}
		_, err := e.eph.Get(e.ctx, nsHandoff, "k")
		wantNotFound(t, "Get after rejected Puts", err)
	}},
	{"fail/bad-namespace", func(t *testing.T, e *env) {
		for _, ns := range []string{"", "a{b}", "hand off", "ns:x"} {
			if err := e.eph.Put(e.ctx, ns, "k", []byte("v"), handoff); err == nil {
				t.Errorf("Put in namespace %q: no error", ns)
			}
			if _, err := e.eph.Get(e.ctx, ns, "k"); err == nil || errors.Is(err, sessions.ErrNotFound) {
				t.Errorf("Get in namespace %q: %v, want a validation error", ns, err)
			}
		}
	}},
}

// raceN runs f in n goroutines released together and counts the true
// results; errs joins the errors.
func raceN(n int, f func() (bool, error)) (wins int, errs error) {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-start
			ok, err := f()
			mu.Lock()
			defer mu.Unlock()
			if ok {
				wins++
			}
			errs = errors.Join(errs, err)
		})
	}
	close(start)
	wg.Wait()
	return wins, errs
}
