package redisstore_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
)

// TestKnownValuesStoredShort: the ACR and AMR of a card login, which
// nearly every session has, are stored as one byte each and read back
// unchanged; any other ACR or AMR is stored as it is.
func TestKnownValuesStoredShort(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix()
	st := newStore(t, c, redisstore.StoreOptions{Prefix: prefix})
	ctx := t.Context()
	for _, tc := range []struct {
		name      string
		acr       string
		amr       []string
		wantShort bool
	}{
		{"ok/card-login", "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI", []string{"sc", "hwk", "pin", "mfa"}, true},
		{"ok/other", "https://www.spid.gov.it/SpidL2", []string{"sc", "pin"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := realSession("RSSMRA85T10A562S")
			s.ACR, s.AMR = tc.acr, tc.amr
			id, err := st.Create(ctx, s, 15*time.Minute, 8*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			m := c.HGetAll(ctx, prefix+"s:{"+s.IDHash+"}").Val()
			if short := len(m["q"]) == 1 && len(m["m"]) == 1; short != tc.wantShort {
				t.Fatalf("stored q=%q m=%q, short %v, want %v", m["q"], m["m"], short, tc.wantShort)
			}
			got, err := st.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.ACR != tc.acr || !reflect.DeepEqual(got.AMR, tc.amr) {
				t.Fatalf("read back ACR %q AMR %v, want %q %v", got.ACR, got.AMR, tc.acr, tc.amr)
			}
		})
	}
}

// TestIndexTTLFollowsLongestSession: an index hash lives until the
// absolute deadline of its longest-lived member plus the grace: a new
// session with a later deadline lengthens it, one with an earlier deadline
// never shortens it (the index must list every live session).
func TestIndexTTLFollowsLongestSession(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix()
	st := newStore(t, c, redisstore.StoreOptions{Prefix: prefix})
	ctx := t.Context()
	const cf = "BNCLRA90E45F205X"
	citizen := prefix + "c:{" + sessions.HashKey(cf) + "}"
	for _, step := range []struct {
		absolute, want time.Duration
	}{
		{2 * time.Hour, 2*time.Hour + time.Minute},
		{time.Hour, 2*time.Hour + time.Minute},     // never shortened
		{5 * time.Hour, 5*time.Hour + time.Minute}, // lengthened
	} {
		if _, err := st.Create(ctx, realSession(cf), 15*time.Minute, step.absolute); err != nil {
			t.Fatal(err)
		}
		got := pttl(ctx, t, c, citizen)
		if got > step.want || got < step.want-5*time.Second {
			t.Fatalf("after a session of %s the index lives %s, want about %s", step.absolute, got, step.want)
		}
	}
}
