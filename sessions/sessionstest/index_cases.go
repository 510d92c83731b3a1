package sessionstest

import (
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// The cases on the per-citizen and per-card indexes.

func byFiscalCode(t *testing.T, e *env) {
	var rossi, bianchi []string
	for range 3 {
		rossi = append(rossi, e.create(t, sample(e.clock, cfRossi, card("rossi")), idle, absolute))
		e.clock.Advance(time.Minute)
	}
	for range 2 {
		bianchi = append(bianchi, e.create(t, sample(e.clock, cfBianchi, card("bianchi")), idle, absolute))
		e.clock.Advance(time.Minute)
	}
	list := func(cf string) []*sessions.Session {
		t.Helper()
		got, err := e.st.ListByFiscalCode(e.ctx, cf)
		if err != nil {
			t.Fatalf("ListByFiscalCode: %v", err)
		}
		for _, s := range got {
			if s.FiscalCode != cf {
				t.Fatalf("ListByFiscalCode(%s) returned a session of %s", cf, s.FiscalCode)
			}
		}
		return got
	}
	wantHashes(t, "ListByFiscalCode(rossi)", list(cfRossi), rossi...)
	wantHashes(t, "ListByFiscalCode(bianchi)", list(cfBianchi), bianchi...)

	del, err := e.st.DeleteByFiscalCode(e.ctx, cfRossi)
	if err != nil {
		t.Fatalf("DeleteByFiscalCode: %v", err)
	}
	wantHashes(t, "DeleteByFiscalCode(rossi)", del, rossi...)
	for _, s := range del {
		if len(s.Participants) != 1 {
			t.Fatalf("deleted session without its participants: %+v", s)
		}
	}
	for _, id := range rossi {
		_, err := e.st.Get(e.ctx, id)
		wantNotFound(t, "Get of a deleted citizen's session", err)
	}
	for _, id := range bianchi {
		e.get(t, id)
	}
	wantHashes(t, "ListByFiscalCode(rossi) after delete", list(cfRossi))
	del, err = e.st.DeleteByFiscalCode(e.ctx, cfRossi)
	if err != nil || len(del) != 0 {
		t.Fatalf("second DeleteByFiscalCode: %d sessions, %v", len(del), err)
	}
	wantHashes(t, "ListByFiscalCode(unknown)", list("XXXXXX00X00X000X"))
}

func byCard(t *testing.T, e *env) {
	oldCard, newCard := card("rossi-2019"), card("rossi-2025")
	old1 := e.create(t, sample(e.clock, cfRossi, oldCard), idle, absolute)
	e.clock.Advance(time.Minute)
	old2 := e.create(t, sample(e.clock, cfRossi, oldCard), idle, absolute)
	e.clock.Advance(time.Minute)
	cur := e.create(t, sample(e.clock, cfRossi, newCard), idle, absolute)
	other := e.create(t, sample(e.clock, cfBianchi, card("bianchi")), idle, absolute)

	del, err := e.st.DeleteByCard(e.ctx, oldCard)
	if err != nil {
		t.Fatalf("DeleteByCard: %v", err)
	}
	wantHashes(t, "DeleteByCard(old card)", del, old1, old2)
	for _, s := range del {
		if s.CardFingerprint != oldCard {
			t.Fatalf("DeleteByCard returned a session of card %s", s.CardFingerprint)
		}
	}
	for _, id := range []string{old1, old2} {
		_, err := e.st.Get(e.ctx, id)
		wantNotFound(t, "Get of a revoked card's session", err)
	}
	got, err := e.st.ListByFiscalCode(e.ctx, cfRossi)
	if err != nil {
		t.Fatalf("ListByFiscalCode: %v", err)
	}
	wantHashes(t, "ListByFiscalCode after DeleteByCard", got, cur)
	e.get(t, other)
	if del, err = e.st.DeleteByCard(e.ctx, oldCard); err != nil || len(del) != 0 {
		t.Fatalf("second DeleteByCard: %d sessions, %v", len(del), err)
	}
}

func indexAfterExpiry(t *testing.T, e *env) {
	fp := card("rossi")
	a1 := e.create(t, sample(e.clock, cfRossi, fp), idle, absolute)
	e.clock.Advance(6 * time.Minute)
	a2 := e.create(t, sample(e.clock, cfRossi, fp), idle, absolute)
	e.clock.Advance(6 * time.Minute) // a1 is past its idle deadline, a2 is not

	got, err := e.st.ListByFiscalCode(e.ctx, cfRossi)
	if err != nil {
		t.Fatalf("ListByFiscalCode: %v", err)
	}
	wantHashes(t, "ListByFiscalCode with one expired", got, a2)
	_, err = e.st.Get(e.ctx, a1)
	wantNotFound(t, "Get of the expired session ListByFiscalCode removed", err)

	e.clock.Advance(5 * time.Minute) // a2 expires too
	del, err := e.st.DeleteByCard(e.ctx, fp)
	if err != nil || len(del) != 0 {
		t.Fatalf("DeleteByCard of expired sessions: %d sessions, %v; want none", len(del), err)
	}
	_, err = e.st.Get(e.ctx, a2)
	wantNotFound(t, "Get of the expired session DeleteByCard removed", err)

	a3 := e.create(t, sample(e.clock, cfRossi, fp), idle, absolute)
	got, err = e.st.ListByFiscalCode(e.ctx, cfRossi)
	if err != nil {
		t.Fatalf("ListByFiscalCode: %v", err)
	}
	wantHashes(t, "ListByFiscalCode after a new login", got, a3)
	del, err = e.st.DeleteByFiscalCode(e.ctx, cfRossi)
	if err != nil {
		t.Fatalf("DeleteByFiscalCode: %v", err)
	}
	wantHashes(t, "DeleteByFiscalCode after a new login", del, a3)
}

// scanSessions: a Scanner passes every stored session once, with its
// IDHash and card, and stops at fn's error. Backends without Scanner skip.
func scanSessions(t *testing.T, e *env) {
	sc, ok := e.st.(sessions.Scanner)
	if !ok {
		t.Skip("the store is not a sessions.Scanner")
	}
	want := map[string]string{}
	for i := range 7 {
		s := sample(e.clock, cfRossi, card(fmt.Sprint("scan", i)))
		s.IssuerKeyID = "0a0b0c"
		e.create(t, s, idle, absolute)
		want[s.IDHash] = s.CardFingerprint
	}
	got := map[string]string{}
	err := sc.ScanSessions(e.ctx, func(s *sessions.Session) error {
		if _, dup := got[s.IDHash]; dup {
			t.Errorf("session %s passed twice", s.IDHash)
		}
		if s.ID != "" || s.CardSerial != "4c1f09a2e7" || s.IssuerKeyID != "0a0b0c" || s.Issuer == "" {
			t.Errorf("scanned %+v: want no ID, the card serial, issuer and its key id", s)
		}
		got[s.IDHash] = s.CardFingerprint
		return nil
	})
	if err != nil {
		t.Fatalf("ScanSessions: %v", err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("scanned %v, want %v", got, want)
	}
	stop := errors.New("stop")
	n := 0
	if err := sc.ScanSessions(e.ctx, func(*sessions.Session) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("ScanSessions after fn's error: %v, %d calls", err, n)
	}
}

// byHash: DeleteByHash removes the one session of that hash and returns it
// without its id; the citizen's other sessions, of the same card, stay.
func byHash(t *testing.T, e *env) {
	c := card("rossi-2025")
	first := e.create(t, sample(e.clock, cfRossi, c), idle, absolute)
	e.clock.Advance(time.Minute)
	second := e.create(t, sample(e.clock, cfRossi, c), idle, absolute)
	got, err := e.st.DeleteByHash(e.ctx, sessions.HashKey(first))
	if err != nil {
		t.Fatalf("DeleteByHash: %v", err)
	}
	if got.IDHash != sessions.HashKey(first) || got.ID != "" || got.FiscalCode != cfRossi {
		t.Fatalf("DeleteByHash returned %+v; want the session of that hash, without its id", got)
	}
	_, err = e.st.Get(e.ctx, first)
	wantNotFound(t, "Get after DeleteByHash", err)
	list, err := e.st.ListByFiscalCode(e.ctx, cfRossi)
	if err != nil {
		t.Fatalf("ListByFiscalCode: %v", err)
	}
	wantHashes(t, "ListByFiscalCode after DeleteByHash", list, second)
	_, err = e.st.DeleteByHash(e.ctx, sessions.HashKey(first))
	wantNotFound(t, "second DeleteByHash", err)
}
