package sessionstest

import (
	"errors"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// nsCode is the namespace the combined cases put values in.
const nsCode = "oidc.code"

func (e *env) participants(t *testing.T, id string) []sessions.Participant {
	t.Helper()
	return e.get(t, id).Participants
}

// combinedCases drive Ephemeral.Swap (which the code exchange uses with
// them), sessions.RunWithSession and sessions.AddParticipantAndPut, which a sessions.Combiner answers in one
// round trip and any other backend one call after another: the outcome
// must be the same.
var combinedCases = []testCase{
	{"ok/swap", func(t *testing.T, e *env) {
		prev, found, err := e.eph.Swap(e.ctx, nsCode, "k", []byte("grant"), time.Minute)
		if err != nil || found || prev != nil {
			t.Fatalf("Swap of an absent key = %q, %v, %v; want nothing found", prev, found, err)
		}
		prev, found, err = e.eph.Swap(e.ctx, nsCode, "k", []byte("used"), 10*time.Minute)
		if err != nil || !found || string(prev) != "grant" {
			t.Fatalf("Swap = %q, %v, %v; want the grant", prev, found, err)
		}
		e.clock.Advance(time.Minute) // the grant's TTL: the marker's is longer
		v, err := e.eph.Get(e.ctx, nsCode, "k")
		e.wantValue(t, "Get after the swap", v, err, []byte("used"))
		e.clock.Advance(9 * time.Minute)
		prev, found, err = e.eph.Swap(e.ctx, nsCode, "k", []byte{}, time.Minute)
		if err != nil || found || prev != nil {
			t.Fatalf("Swap of a value past its TTL = %q, %v, %v; want nothing found", prev, found, err)
		}
		if prev, found, err = e.eph.Swap(e.ctx, nsCode, "k", []byte("x"), time.Minute); err != nil || !found || prev == nil || len(prev) != 0 {
			t.Fatalf("Swap of an empty value = %q, %v, %v; want found, empty", prev, found, err)
		}
		if _, _, err := e.eph.Swap(e.ctx, "bad ns", "k", nil, time.Minute); err == nil {
			t.Fatal("Swap accepted a bad namespace")
		}
		if _, _, err := e.eph.Swap(e.ctx, nsCode, "k", nil, 0); err == nil {
			t.Fatal("Swap accepted a zero TTL")
		}
	}},
	{"ok/swap-race", func(t *testing.T, e *env) {
		e.put(t, nsCode, "code", []byte("grant"), time.Minute)
		wins, err := raceN(16, func() (bool, error) {
			prev, found, err := e.eph.Swap(e.ctx, nsCode, "code", []byte("used"), time.Minute)
			return found && string(prev) == "grant", err
		})
		if err != nil || wins != 1 {
			t.Fatalf("%d of 16 concurrent swaps received the grant (%v), want exactly one", wins, err)
		}
	}},
	{"ok/participant-and-put", func(t *testing.T, e *env) {
		id := e.create(t, sample(e.clock, cfRossi, card("a")), idle, absolute)
		p := sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "cms", SID: "sid-2"}
		err := sessions.AddParticipantAndPut(e.ctx, e.st, e.eph, id, p,
			sessions.Entry{NS: nsCode, Key: "code-1", Val: []byte("grant"), TTL: time.Minute},
			sessions.Entry{NS: nsCode, Key: "code-2", Val: []byte{}, TTL: 2 * time.Minute})
		if err != nil {
			t.Fatalf("AddParticipantAndPut: %v", err)
		}
		got := e.participants(t, id)
		if len(got) != 2 || got[1].ClientID != "cms" || got[1].SID != "sid-2" || !got[1].JoinedAt.Equal(e.clock.Now()) {
			t.Fatalf("participants = %+v, want esenzioni then cms joined now", got)
		}
		v, err := e.eph.Get(e.ctx, nsCode, "code-1")
		e.wantValue(t, "Get of the first entry", v, err, []byte("grant"))
		v, err = e.eph.Get(e.ctx, nsCode, "code-2")
		e.wantValue(t, "Get of the second entry", v, err, []byte{})
		e.clock.Advance(time.Minute)
		if _, err := e.eph.Get(e.ctx, nsCode, "code-1"); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Get of the first entry at its TTL: %v, want ErrNotFound", err)
		}
		// Idempotent per client: the first record is kept.
		p.SID = "other"
		if err := sessions.AddParticipantAndPut(e.ctx, e.st, e.eph, id, p); err != nil {
			t.Fatalf("AddParticipantAndPut again: %v", err)
		}
		if got := e.participants(t, id); len(got) != 2 || got[1].SID != "sid-2" {
			t.Fatalf("participants after a second join = %+v, want the first record kept", got)
		}
	}},
	{"fail/participant-and-put-without-session", func(t *testing.T, e *env) {
		p := sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "cms"}
		err := sessions.AddParticipantAndPut(e.ctx, e.st, e.eph, "no-such-session", p,
			sessions.Entry{NS: nsCode, Key: "orphan", Val: []byte("grant"), TTL: time.Minute})
		wantNotFound(t, "AddParticipantAndPut without a session", err)
		if _, err := e.eph.Get(e.ctx, nsCode, "orphan"); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("an entry was stored for a missing session: %v", err)
		}
	}},
	{"fail/participant-and-put-expired", func(t *testing.T, e *env) {
		id := e.create(t, sample(e.clock, cfRossi, card("a")), idle, absolute)
		e.clock.Advance(idle)
		p := sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "cms"}
		err := sessions.AddParticipantAndPut(e.ctx, e.st, e.eph, id, p,
			sessions.Entry{NS: nsCode, Key: "late", Val: []byte("grant"), TTL: time.Minute})
		exp := wantExpired(t, "AddParticipantAndPut past the idle deadline", err, sessions.CauseIdle)
		if exp.Session == nil || exp.Session.ID != id {
			t.Fatalf("the expiry carries %+v, want the removed session", exp.Session)
		}
		if _, err := e.eph.Get(e.ctx, nsCode, "late"); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("an entry was stored for an expired session: %v", err)
		}
	}},
	{"fail/participant-and-put-bad-entry", func(t *testing.T, e *env) {
		id := e.create(t, sample(e.clock, cfRossi, card("a")), idle, absolute)
		p := sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "cms"}
		err := sessions.AddParticipantAndPut(e.ctx, e.st, e.eph, id, p,
			sessions.Entry{NS: "bad ns", Key: "k", Val: []byte("v"), TTL: time.Minute})
		if err == nil {
			t.Fatal("AddParticipantAndPut accepted a bad namespace")
		}
	}},
	{"ok/run-with-session", func(t *testing.T, e *env) {
		id := e.create(t, sample(e.clock, cfRossi, card("a")), idle, absolute)
		hash := sessions.HashKey(id)
		e.put(t, nsCode, "code", []byte("grant"), time.Minute)
		e.put(t, nsCode, "marker", []byte("ended"), time.Minute)
		ops := []sessions.Op{
			{Kind: sessions.OpPutNew, NS: nsCode, Key: "used", Val: []byte("family"), TTL: 10 * time.Minute},
			{Kind: sessions.OpDelete, NS: nsCode, Key: "code"},
			{Kind: sessions.OpGet, NS: nsCode, Key: "marker"},
			{Kind: sessions.OpGet, NS: nsCode, Key: "absent"},
			{Kind: sessions.OpSwap, NS: nsCode, Key: "marker", Val: []byte("again"), TTL: time.Minute},
		}
		r, err := sessions.RunWithSession(e.ctx, e.st, e.eph, hash, ops...)
		if err != nil || r.Err != nil {
			t.Fatalf("RunWithSession: %v, session %v", err, r.Err)
		}
		if !r.Results[0].Stored || string(r.Results[2].Val) != "ended" || !r.Results[2].Found ||
			r.Results[3].Val != nil || r.Results[3].Found || string(r.Results[4].Val) != "ended" || !r.Results[4].Found {
			t.Fatalf("results = %+v, want stored, -, ended, nil, ended", r.Results)
		}
		v, err := e.eph.Get(e.ctx, nsCode, "marker")
		e.wantValue(t, "Get of the swapped value", v, err, []byte("again"))
		if r.Session == nil || r.Session.IDHash != hash || r.Session.ID != "" || r.Session.FiscalCode != cfRossi {
			t.Fatalf("session = %+v, want the record by hash, without ID", r.Session)
		}
		if _, err := e.eph.Get(e.ctx, nsCode, "code"); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("the deleted value is still there: %v", err)
		}
		r, err = sessions.RunWithSession(e.ctx, e.st, e.eph, hash, ops[0])
		if err != nil || r.Results[0].Stored {
			t.Fatalf("a second PutNew of the same key: %+v, %v; want not stored", r.Results, err)
		}
		r, err = sessions.RunWithSession(e.ctx, e.st, e.eph, "", ops[2])
		if err != nil || r.Session != nil || r.Err != nil || string(r.Results[0].Val) != "again" {
			t.Fatalf("without a session: %+v, %v", r, err)
		}
	}},
	{"fail/run-with-session-gone", func(t *testing.T, e *env) {
		id := e.create(t, sample(e.clock, cfRossi, card("a")), idle, absolute)
		for _, h := range []string{sessions.HashKey("no such session"), "not-a-hash}"} {
			r, err := sessions.RunWithSession(e.ctx, e.st, e.eph, h)
			if err != nil {
				t.Fatalf("RunWithSession(%q): %v", h, err)
			}
			wantNotFound(t, "the session of an unknown hash", r.Err)
		}
		e.clock.Advance(absolute)
		r, err := sessions.RunWithSession(e.ctx, e.st, e.eph, sessions.HashKey(id))
		if err != nil {
			t.Fatalf("RunWithSession: %v", err)
		}
		exp := wantExpired(t, "the session past its deadline", r.Err, sessions.CauseAbsolute)
		if exp.Session == nil || exp.Session.FiscalCode != cfRossi {
			t.Fatalf("the expiry carries %+v, want the removed record", exp.Session)
		}
		if _, err := e.st.GetByHash(e.ctx, sessions.HashKey(id)); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("the expired session is still stored: %v", err)
		}
		if _, err := sessions.RunWithSession(e.ctx, e.st, e.eph, "", sessions.Op{Kind: sessions.OpGet, NS: "bad ns", Key: "k"}); err == nil {
			t.Fatal("RunWithSession accepted a bad namespace")
		}
	}},
}
