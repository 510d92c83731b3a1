package sessionstest

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

var storeCases = []testCase{
	{"ok/create-get-round-trip", func(t *testing.T, e *env) {
		s := sample(e.clock, cfRossi, card("rossi"))
		s.ID = "chosen-by-caller"
		id := e.create(t, s, 15*time.Minute, absolute)
		if id == "chosen-by-caller" || s.ID != id || s.IDHash != sessions.HashKey(id) {
			t.Fatalf("Create returned %q and set ID %q, IDHash %q", id, s.ID, s.IDHash)
		}
		now := e.clock.Now()
		wantTime(t, "CreatedAt", s.CreatedAt, now)
		wantTime(t, "LastSeen", s.LastSeen, now)
		wantTime(t, "IdleDeadline", s.IdleDeadline, now.Add(15*time.Minute))
		wantTime(t, "AbsoluteDeadline", s.AbsoluteDeadline, now.Add(absolute))
		if s.IdleTimeout != 15*time.Minute {
			t.Errorf("IdleTimeout = %s", s.IdleTimeout)
		}
		got := e.get(t, id)
		if got.ID != id {
			t.Errorf("Get set ID %q, want the id asked for", got.ID)
		}
		sameSession(t, got, s)
	}},
	{"ok/fresh-distinct-ids", func(t *testing.T, e *env) {
		seen := map[string]bool{}
		for range 64 {
			id := e.create(t, sample(e.clock, cfRossi, card("rossi")), idle, absolute)
			raw, err := base64.RawURLEncoding.DecodeString(id)
			if err != nil || len(raw) != sessions.IDBytes {
				t.Fatalf("id %q is not %d bytes of base64url: %v", id, sessions.IDBytes, err)
			}
			if seen[id] {
				t.Fatalf("id %q issued twice", id)
			}
			seen[id] = true
		}
	}},
	{"ok/get-by-hash", func(t *testing.T, e *env) {
		s := sample(e.clock, cfRossi, card("rossi"))
		id := e.create(t, s, idle, absolute)
		e.create(t, sample(e.clock, cfRossi, card("rossi")), idle, absolute) // another of the same citizen
		got, err := e.st.GetByHash(e.ctx, sessions.HashKey(id))
		if err != nil {
			t.Fatalf("GetByHash: %v", err)
		}
		if got.ID != "" || got.IDHash != sessions.HashKey(id) {
			t.Fatalf("GetByHash set ID %q, IDHash %q: want no id and the hash asked for", got.ID, got.IDHash)
		}
		s.ID = ""
		sameSession(t, got, s)
		for _, h := range []string{"", "no-such-session", sessions.HashKey("no-such-session"), id, "x}" + sessions.HashKey(id)[2:]} {
			_, err := e.st.GetByHash(e.ctx, h)
			wantNotFound(t, "GetByHash "+h, err)
		}
	}},
	{"fail/get-by-hash-expired", func(t *testing.T, e *env) {
		id := e.create(t, sample(e.clock, cfRossi, card("rossi")), idle, absolute)
		e.clock.Advance(idle)
		_, err := e.st.GetByHash(e.ctx, sessions.HashKey(id))
		exp := wantExpired(t, "GetByHash at the idle deadline", err, sessions.CauseIdle)
		if s := exp.Session; s == nil || s.IDHash != sessions.HashKey(id) || s.ID != "" {
			t.Fatalf("ExpiredError.Session = %+v, want the removed record with its hash and no id", s)
		}
		_, err = e.st.Get(e.ctx, id)
		wantNotFound(t, "Get after GetByHash found it expired", err)
	}},
	{"fail/unknown-id", func(t *testing.T, e *env) {
		e.create(t, sample(e.clock, cfRossi, card("rossi")), idle, absolute)
		for _, id := range []string{"no-such-session", ""} {
			_, err := e.st.Get(e.ctx, id)
			wantNotFound(t, "Get", err)
			wantNotFound(t, "Touch", e.st.Touch(e.ctx, id))
			wantNotFound(t, "AddParticipant", e.st.AddParticipant(e.ctx, id,
				sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni"}))
			_, err = e.st.Delete(e.ctx, id)
			wantNotFound(t, "Delete", err)
		}
	}},
	{"fail/invalid-create", func(t *testing.T, e *env) {
		for _, c := range []struct {
			name   string
			mutate func(s *sessions.Session, idle, absolute *time.Duration)
		}{
			{"no-fiscal-code", func(s *sessions.Session, _, _ *time.Duration) { s.FiscalCode = "" }},
			{"no-fingerprint", func(s *sessions.Session, _, _ *time.Duration) { s.CardFingerprint = "" }},
			{"upper-case-fingerprint", func(s *sessions.Session, _, _ *time.Duration) { s.CardFingerprint = strings.ToUpper(s.CardFingerprint) }},
			{"zero-idle", func(_ *sessions.Session, i, _ *time.Duration) { *i = 0 }},
			{"negative-absolute", func(_ *sessions.Session, _, a *time.Duration) { *a = -time.Hour }},
			{"unknown-protocol", func(s *sessions.Session, _, _ *time.Duration) { s.Participants[0].Protocol = "wsfed" }},
			{"participant-without-client", func(s *sessions.Session, _, _ *time.Duration) { s.Participants[0].ClientID = "" }},
		} {
			s, i, a := sample(e.clock, cfRossi, card("rossi")), idle, absolute
			c.mutate(s, &i, &a)
			if id, err := e.st.Create(e.ctx, s, i, a); err == nil || errors.Is(err, sessions.ErrNotFound) {
				t.Errorf("%s: Create = %q, %v; want a validation error", c.name, id, err)
			}
		}
		if got, err := e.st.ListByFiscalCode(e.ctx, cfRossi); err != nil || len(got) != 0 {
			t.Fatalf("after rejected creates: %d sessions, %v", len(got), err)
		}
	}},
	{"fail/idle-expiry", idleExpiry},
	{"fail/absolute-expiry-even-when-touched", func(t *testing.T, e *env) {
		id := e.create(t, sample(e.clock, cfRossi, card("rossi")), idle, 30*time.Minute)
		for range 5 {
			e.clock.Advance(5 * time.Minute)
			if err := e.st.Touch(e.ctx, id); err != nil {
				t.Fatalf("Touch at %s: %v", e.clock.Now(), err)
			}
		}
		e.get(t, id)
		e.clock.Advance(5 * time.Minute)
		_, err := e.st.Get(e.ctx, id)
		wantExpired(t, "Get at the absolute deadline", err, sessions.CauseAbsolute)
	}},
	{"ok/touch-slides-idle", func(t *testing.T, e *env) {
		id := e.create(t, sample(e.clock, cfRossi, card("rossi")), idle, absolute)
		start := e.clock.Now()
		e.clock.Advance(8 * time.Minute)
		if err := e.st.Touch(e.ctx, id); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		e.clock.Advance(8 * time.Minute)
		got := e.get(t, id)
		wantTime(t, "LastSeen", got.LastSeen, start.Add(8*time.Minute))
		wantTime(t, "IdleDeadline", got.IdleDeadline, start.Add(18*time.Minute))
		wantTime(t, "CreatedAt", got.CreatedAt, start)
		e.clock.Advance(2 * time.Minute)
		_, err := e.st.Get(e.ctx, id)
		wantExpired(t, "Get at the slid idle deadline", err, sessions.CauseIdle)
	}},
	{"ok/touch-never-past-absolute", func(t *testing.T, e *env) {
		id := e.create(t, sample(e.clock, cfRossi, card("rossi")), idle, 15*time.Minute)
		start := e.clock.Now()
		e.clock.Advance(8 * time.Minute)
		if err := e.st.Touch(e.ctx, id); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		got := e.get(t, id)
		wantTime(t, "IdleDeadline", got.IdleDeadline, start.Add(15*time.Minute))
		wantTime(t, "AbsoluteDeadline", got.AbsoluteDeadline, start.Add(15*time.Minute))
		e.clock.Advance(7 * time.Minute)
		err := e.st.Touch(e.ctx, id)
		wantExpired(t, "Touch at the absolute deadline", err, sessions.CauseAbsolute)
		_, err = e.st.Get(e.ctx, id)
		wantNotFound(t, "Get after expiry", err)
	}},
	{"ok/add-participant-idempotent", addParticipant},
	{"ok/delete-returns-participants", deleteReturnsParticipants},
	{"ok/by-fiscal-code", byFiscalCode},
	{"ok/by-card", byCard},
	{"ok/by-hash", byHash},
	{"ok/scan-sessions", scanSessions},
	{"ok/index-consistent-after-expiry", indexAfterExpiry},
	{"ok/returned-records-are-copies", func(t *testing.T, e *env) {
		s := sample(e.clock, cfRossi, card("rossi"))
		id := e.create(t, s, idle, absolute)
		s.Roles[0], s.FiscalCode = "tampered", "tampered"
		got := e.get(t, id)
		got.Roles[0] = "tampered"
		got.Participants[0].ClientID = "tampered"
		again := e.get(t, id)
		if again.FiscalCode != cfRossi || again.Roles[0] != "asl-operator" || again.Participants[0].ClientID != "esenzioni" {
			t.Fatalf("stored session changed through a returned pointer: %+v", again)
		}
	}},
	{"ok/ping", func(t *testing.T, e *env) {
		if err := e.st.Ping(e.ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	}},
}

func idleExpiry(t *testing.T, e *env) {
	id := e.create(t, sample(e.clock, cfRossi, card("rossi")), idle, absolute)
	e.clock.Advance(idle - time.Second)
	e.get(t, id) // Get does not slide the deadline
	e.clock.Advance(time.Second)
	_, err := e.st.Get(e.ctx, id)
	exp := wantExpired(t, "Get at the idle deadline", err, sessions.CauseIdle)
	if s := exp.Session; s == nil || s.ID != id || s.IDHash != sessions.HashKey(id) || len(s.Participants) != 1 {
		t.Fatalf("ExpiredError.Session = %+v, want the removed record with its id and participant", s)
	}
	_, err = e.st.Get(e.ctx, id)
	wantNotFound(t, "Get after expiry", err)
	if got, err := e.st.ListByFiscalCode(e.ctx, cfRossi); err != nil || len(got) != 0 {
		t.Fatalf("ListByFiscalCode after expiry: %d sessions, %v", len(got), err)
	}
}

func addParticipant(t *testing.T, e *env) {
	s := sample(e.clock, cfRossi, card("rossi"))
	s.Participants = nil
	id := e.create(t, s, idle, absolute)
	start := e.clock.Now()
	const sp = "https://cms.asl.example.it/saml/sp"
	for _, step := range []struct {
		name    string
		p       sessions.Participant
		wantErr bool
	}{
		{"oidc-first", sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni", SID: "sid-a"}, false},
		{"oidc-again-other-sid", sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni", SID: "sid-b"}, false},
		{"saml-sp", sessions.Participant{Protocol: sessions.ProtocolSAML, ClientID: sp, SID: "_idx-1", NameID: "_nameid-1"}, false},
		{"saml-again", sessions.Participant{Protocol: sessions.ProtocolSAML, ClientID: sp, SID: "_idx-2"}, false},
		{"oidc-same-id-as-sp", sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: sp}, false},
		{"unknown-protocol", sessions.Participant{Protocol: "wsfed", ClientID: "x"}, true},
		{"no-client", sessions.Participant{Protocol: sessions.ProtocolOIDC}, true},
	} {
		e.clock.Advance(time.Minute)
		if err := e.st.AddParticipant(e.ctx, id, step.p); (err != nil) != step.wantErr {
			t.Fatalf("%s: AddParticipant error %v, want error %t", step.name, err, step.wantErr)
		}
	}
	got := e.get(t, id).Participants
	want := []sessions.Participant{
		{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni", SID: "sid-a", JoinedAt: start.Add(time.Minute)},
		{Protocol: sessions.ProtocolSAML, ClientID: sp, SID: "_idx-1", NameID: "_nameid-1", JoinedAt: start.Add(3 * time.Minute)},
		{Protocol: sessions.ProtocolOIDC, ClientID: sp, JoinedAt: start.Add(5 * time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("participants = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Protocol != w.Protocol || g.ClientID != w.ClientID || g.SID != w.SID || g.NameID != w.NameID || !g.JoinedAt.Equal(w.JoinedAt) {
			t.Errorf("participant %d = %+v, want %+v", i, g, w)
		}
	}

	dup := sample(e.clock, cfRossi, card("rossi"))
	dup.Participants = append(dup.Participants, sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni", SID: "sid-2"})
	if got := e.get(t, e.create(t, dup, idle, absolute)).Participants; len(got) != 1 || got[0].SID != "sid-1" {
		t.Fatalf("Create with a party twice stored %+v, want the first record only", got)
	}

	e.clock.Advance(idle)
	err := e.st.AddParticipant(e.ctx, id, sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "late"})
	wantExpired(t, "AddParticipant after the idle deadline", err, sessions.CauseIdle)
}

func deleteReturnsParticipants(t *testing.T, e *env) {
	id := e.create(t, sample(e.clock, cfRossi, card("rossi")), idle, absolute)
	e.clock.Advance(time.Minute)
	p := sessions.Participant{Protocol: sessions.ProtocolSAML, ClientID: "https://cms.example.it/sp", SID: "_i1", NameID: "_n1"}
	if err := e.st.AddParticipant(e.ctx, id, p); err != nil {
		t.Fatalf("AddParticipant: %v", err)
	}
	del, err := e.st.Delete(e.ctx, id)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if del.ID != id || del.FiscalCode != cfRossi || len(del.Participants) != 2 ||
		del.Participants[1].NameID != "_n1" || del.Participants[1].SID != "_i1" {
		t.Fatalf("Delete returned %+v, want the session with both participants", del)
	}
	_, err = e.st.Get(e.ctx, id)
	wantNotFound(t, "Get after Delete", err)
	_, err = e.st.Delete(e.ctx, id)
	wantNotFound(t, "second Delete", err)
	wantNotFound(t, "Touch after Delete", e.st.Touch(e.ctx, id))
	if got, err := e.st.ListByFiscalCode(e.ctx, cfRossi); err != nil || len(got) != 0 {
		t.Fatalf("ListByFiscalCode after Delete: %d sessions, %v", len(got), err)
	}
}
