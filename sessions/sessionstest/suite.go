package sessionstest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// Factory builds a fresh, empty backend for one test case. The backend must
// read time only from clock.Now; the factory registers its own cleanup with
// t.Cleanup. Store and Ephemeral may be the same value.
type Factory func(t *testing.T, clock *Clock) (sessions.Store, sessions.Ephemeral)

// Run runs the conformance suite: every named case gets a fresh backend from
// factory and a Clock starting at Epoch, which the case advances to drive
// expiry. Backends must decide deadlines with that clock; their own timers
// (Redis TTLs) are for cleanup only and are tested separately.
func Run(t *testing.T, factory Factory) {
	t.Helper()
	run := func(t *testing.T, cases []testCase) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				clock := NewClock(Epoch)
				st, eph := factory(t, clock)
				tc.run(t, &env{ctx: t.Context(), clock: clock, st: st, eph: eph})
			})
		}
	}
	t.Run("store", func(t *testing.T) { run(t, storeCases) })
	t.Run("ephemeral", func(t *testing.T) { run(t, ephemeralCases) })
	t.Run("combined", func(t *testing.T) { run(t, combinedCases) })
}

type env struct {
	ctx   context.Context
	clock *Clock
	st    sessions.Store
	eph   sessions.Ephemeral
}

type testCase struct {
	name string
	run  func(*testing.T, *env)
}

// Citizens and cards used by the cases.
const (
	cfRossi   = "RSSMRA85T10A562S"
	cfBianchi = "BNCLRA90E45F205X"
	idle      = 10 * time.Minute
	absolute  = 8 * time.Hour
)

// card returns a card fingerprint in the format stores receive.
func card(name string) string { return sessions.HashKey("card certificate " + name) }

// sample returns a session with every field a login sets.
func sample(c *Clock, fiscalCode, fingerprint string) *sessions.Session {
	return &sessions.Session{
		FiscalCode:      fiscalCode,
		CardFingerprint: fingerprint,
		CardSerial:      "4c1f09a2e7",
		Issuer:          "Regione Toscana - CA Cittadini",
		AuthTime:        c.Now().Add(-3 * time.Second),
		AMR:             []string{"sc", "hwk", "pin", "mfa"},
		ACR:             "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
		Roles:           []string{"asl-operator", "cms-admin"},
		GivenName:       "MARIO",
		FamilyName:      "ROSSI",
		Region:          "Toscana",
		CardID:          "6090000000912345",
		CardType:        "regional",
		Participants: []sessions.Participant{{
			Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni", SID: "sid-1",
			JoinedAt: c.Now().Add(-time.Second),
		}},
	}
}

func (e *env) create(t *testing.T, s *sessions.Session, idle, absolute time.Duration) string {
	t.Helper()
	id, err := e.st.Create(e.ctx, s, idle, absolute)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return id
}

func (e *env) get(t *testing.T, id string) *sessions.Session {
	t.Helper()
	s, err := e.st.Get(e.ctx, id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return s
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("%s: got error %v, want ErrNotFound", what, err)
	}
}

// wantExpired checks err is an *ExpiredError with the cause and returns it.
func wantExpired(t *testing.T, what string, err error, cause string) *sessions.ExpiredError {
	t.Helper()
	var exp *sessions.ExpiredError
	if !errors.As(err, &exp) || !errors.Is(err, sessions.ErrExpired) {
		t.Fatalf("%s: got error %v, want *ExpiredError", what, err)
	}
	if exp.Cause != cause {
		t.Fatalf("%s: expiry cause %q, want %q", what, exp.Cause, cause)
	}
	return exp
}

func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// sameSession compares every serialised field (times by instant) and IDHash.
func sameSession(t *testing.T, got, want *sessions.Session) {
	t.Helper()
	if got.IDHash != want.IDHash {
		t.Errorf("IDHash = %q, want %q", got.IDHash, want.IDHash)
	}
	g, w := canonical(t, got), canonical(t, want)
	if g != w {
		t.Errorf("session differs:\n got %s\nwant %s", g, w)
	}
}

func canonical(t *testing.T, s *sessions.Session) string {
	t.Helper()
	c := s.Clone()
	for _, tp := range []*time.Time{&c.AuthTime, &c.CreatedAt, &c.LastSeen, &c.IdleDeadline, &c.AbsoluteDeadline} {
		*tp = tp.UTC()
	}
	for i := range c.Participants {
		c.Participants[i].JoinedAt = c.Participants[i].JoinedAt.UTC()
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("marshal session: %v", err)
	}
	return string(b)
}

// hashes returns the IDHash of each session, in order.
func hashes(ss []*sessions.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.IDHash
	}
	return out
}

func wantHashes(t *testing.T, what string, got []*sessions.Session, ids ...string) {
	t.Helper()
	want := make([]string, len(ids))
	for i, id := range ids {
		want[i] = sessions.HashKey(id)
	}
	g := hashes(got)
	if len(g) != len(want) {
		t.Fatalf("%s: got %d sessions %v, want %d %v", what, len(g), g, len(want), want)
	}
	for i := range want {
		if g[i] != want[i] {
			t.Fatalf("%s: got sessions %v, want %v (oldest first)", what, g, want)
		}
	}
}

// Epoch is the time a suite Clock starts at: whole seconds, UTC, far from
// the real time so that a backend reading the wrong clock shows up.
var Epoch = time.Date(2031, time.March, 14, 9, 30, 0, 0, time.UTC)

// Clock is a manual clock safe for concurrent use. Pass its Now method as a
// backend's Now option.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads t until moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
