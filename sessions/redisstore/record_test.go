package redisstore_test

import (
	"reflect"
	"testing"
	"time"

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
