package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
)

// writeLegacy stores a session exactly as the earlier layout did (a rec
// field of JSON, the deadlines under long names, participants as JSON
// objects, the indexes as sets cf:{…} and card:{…}) and returns its id.
func writeLegacy(ctx context.Context, t *testing.T, c redis.UniversalClient, prefix string, s *sessions.Session, now time.Time) string {
	t.Helper()
	id := randomCode()
	hash := sessions.HashKey(id)
	if err := s.Start(now, 15*time.Minute, 8*time.Hour); err != nil {
		t.Fatal(err)
	}
	rec := *s
	rec.Participants = nil
	raw, err := json.Marshal(&rec)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]any{
		"rec": raw, "idle": s.IdleDeadline.UnixMilli(), "abs": s.AbsoluteDeadline.UnixMilli(),
		"seen": s.LastSeen.UnixMilli(), "ito": s.IdleTimeout.Milliseconds(),
	}
	for _, p := range s.Participants {
		b, _ := json.Marshal(p)
		fields["p:"+p.Protocol+" "+p.ClientID] = b
	}
	key := prefix + "s:{" + hash + "}"
	pipe := c.TxPipeline()
	pipe.HSet(ctx, key, fields)
	pipe.PExpire(ctx, key, 16*time.Minute)
	for _, idx := range []string{prefix + "cf:{" + sessions.HashKey(s.FiscalCode) + "}", prefix + "card:{" + s.CardFingerprint + "}"} {
		pipe.SAdd(ctx, idx, hash)
		pipe.PExpire(ctx, idx, 9*time.Hour)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestLegacyRecords: during a rolling upgrade the store meets sessions
// written by the earlier layout. Each one is read with every field, its
// deadline slides on Touch, a relying party joins it, it is listed and
// deleted through the old index sets next to a session of the new layout,
// the revocation sweep reads it, and Redis keeps its TTL; a record in
// neither format is an error naming it, never a crash.
func TestLegacyRecords(t *testing.T) {
	c := testClient(t)
	ctx := t.Context()
	p := testPrefix()
	now := time.Now().Truncate(time.Millisecond)
	clock := now
	st := newStore(t, c, redisstore.StoreOptions{Prefix: p, Now: func() time.Time { return clock }})

	const cf = "RSSMRA85T10A562S"
	old := &sessions.Session{
		FiscalCode: cf, CardFingerprint: sessions.HashKey("card"), CardSerial: "4c1f", Issuer: "Regione Toscana - CA Cittadini",
		AuthTime: now.Add(-time.Second), AMR: []string{"sc", "pin"}, ACR: "urn:acr", Roles: []string{"operatore_asl"},
		OrganisationName: "ASL Demo", GivenName: "MARIO", FamilyName: "ROSSI", CardType: "regional",
		Participants: []sessions.Participant{{Protocol: sessions.ProtocolSAML, ClientID: "https://cms.example", SID: "s1", NameID: "n1", JoinedAt: now}},
	}
	id := writeLegacy(ctx, t, c, p, old, now)
	got, err := st.Get(ctx, id)
	if err != nil {
		t.Fatalf("Get of a record of the earlier layout: %v", err)
	}
	if got.FiscalCode != cf || got.OrganisationName != "ASL Demo" || len(got.Roles) != 1 || !got.IdleDeadline.Equal(old.IdleDeadline) ||
		len(got.Participants) != 1 || got.Participants[0].NameID != "n1" {
		t.Fatalf("the old record read back as %+v", got)
	}

	clock = now.Add(10 * time.Minute)
	if err := st.Touch(ctx, id); err != nil {
		t.Fatalf("Touch of an old record: %v", err)
	}
	if err := st.AddParticipant(ctx, id, sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni", SID: "s2"}); err != nil {
		t.Fatalf("AddParticipant to an old record: %v", err)
	}
	got, err = st.GetByHash(ctx, sessions.HashKey(id))
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Add(15 * time.Minute); !got.IdleDeadline.Equal(want) || len(got.Participants) != 2 {
		t.Fatalf("after Touch and AddParticipant: idle deadline %s (want %s), %d participants", got.IdleDeadline, want, len(got.Participants))
	}
	if ttl := c.PTTL(ctx, p+"s:{"+sessions.HashKey(id)+"}").Val(); ttl < 15*time.Minute {
		t.Fatalf("Touch left the old record's TTL at %s", ttl)
	}

	fresh := &sessions.Session{FiscalCode: cf, CardFingerprint: old.CardFingerprint, AuthTime: clock}
	newID, err := st.Create(ctx, fresh, 15*time.Minute, 8*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	list, err := st.ListByFiscalCode(ctx, cf)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListByFiscalCode over both layouts: %d sessions, %v", len(list), err)
	}
	seen := 0
	if err := st.ScanSessions(ctx, func(*sessions.Session) error { seen++; return nil }); err != nil || seen != 2 {
		t.Fatalf("ScanSessions over both layouts: %d records, %v", seen, err)
	}
	gone, err := st.DeleteByCard(ctx, old.CardFingerprint)
	if err != nil || len(gone) != 2 {
		t.Fatalf("DeleteByCard over both layouts: %d sessions, %v", len(gone), err)
	}
	for _, x := range []string{id, newID} {
		if _, err := st.Get(ctx, x); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Get after DeleteByCard: %v", err)
		}
	}
	if keys := keysUnder(ctx, t, c, p); len(keys) != 0 {
		t.Fatalf("keys left after deleting both sessions: %v", keys)
	}

	// A hash in neither layout: an error that names it.
	junkID := randomCode()
	junk := p + "s:{" + sessions.HashKey(junkID) + "}"
	c.HSet(ctx, junk, "x", "y")
	c.PExpire(ctx, junk, time.Minute)
	if _, err := st.Get(ctx, junkID); err == nil || errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Get of a record in no known layout: %v", err)
	}
}
