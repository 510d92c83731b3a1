package oidc

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// TestGrantStoredForms: grants and used-markers are stored in the short
// form, read back unchanged, and a record of the earlier long form (as
// stored before a rolling upgrade) still reads as the same grant.
func TestGrantStoredForms(t *testing.T) {
	// Deadlines and expiries are kept to the millisecond, as the session
	// store keeps the session's.
	at := time.Date(2026, 12, 4, 1, 30, 35, 814000000, time.UTC)
	g := grant{
		Family: "fam", ClientID: "esenzioni", Scopes: []string{"openid", "profile"}, SessionHash: strings.Repeat("ab", 32),
		FiscalCode: "RSSMRA85T10A562S", SID: "sid", Deadline: at.Add(8 * time.Hour),
		RedirectURI: "https://rp.example/cb", Challenge: "ch", Nonce: "nn",
		Claims: &requestedClaims{IDToken: []string{"email"}}, Expires: at.Add(5 * time.Minute),
	}
	short, err := json.Marshal(&g)
	if err != nil {
		t.Fatal(err)
	}
	long, err := json.Marshal((*grantLegacy)(&g))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("grant: %d bytes stored, %d in the earlier form", len(short), len(long))
	if len(short) >= len(long) || strings.Contains(string(short), "fiscal_code") || strings.Contains(string(short), g.SessionHash) {
		t.Fatalf("not the short form: %s", short)
	}
	// A grant of the earlier short form (hex hash, the auth time it no
	// longer keeps, times in unix ns) reads as the same grant.
	hexForm := strings.NewReplacer(
		`"h":"`+packHash(g.SessionHash)+`"`, `"h":"`+g.SessionHash+`","t":1796410144915153479`,
		fmt.Sprintf(`"dm":%d`, g.Deadline.UnixMilli()), fmt.Sprintf(`"d":%d`, g.Deadline.UnixNano()),
		fmt.Sprintf(`"xm":%d`, g.Expires.UnixMilli()), fmt.Sprintf(`"x":%d`, g.Expires.UnixNano()),
	).Replace(string(short))
	var fromHex grant
	if err := json.Unmarshal([]byte(hexForm), &fromHex); err != nil || !reflect.DeepEqual(fromHex, g) || hexForm == string(short) {
		t.Fatalf("the short form with a hex session hash %s read back as %+v (%v)", hexForm, fromHex, err)
	}
	for name, raw := range map[string][]byte{"short": short, "earlier": long} {
		var back grant
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("%s form: %v", name, err)
		}
		if !reflect.DeepEqual(back, g) {
			t.Fatalf("%s form read back as %+v, want %+v", name, back, g)
		}
	}

	m := usedMarker{Family: "fam", Deadline: at, UsedAt: at.Add(time.Second), ClientID: "esenzioni"}
	short, _ = json.Marshal(m)
	long, _ = json.Marshal(markerLegacy(m))
	for name, raw := range map[string][]byte{"short": short, "earlier": long} {
		var back usedMarker
		if err := json.Unmarshal(raw, &back); err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("%s marker %s read back as %+v (%v)", name, raw, back, err)
		}
	}
	// The sid a grant always has, derived from session and client, is
	// not stored but derived again.
	g.SID = sidFor(g.SessionHash, g.ClientID)
	short, _ = json.Marshal(&g)
	var back grant
	if err := json.Unmarshal(short, &back); err != nil || strings.Contains(string(short), g.SID) || back.SID != g.SID {
		t.Fatalf("derived sid: stored %s, read back %q (%v)", short, back.SID, err)
	}

	// Under a code, its grant and the marker its redemption swaps in are
	// told apart, in either form.
	short, _ = json.Marshal(&g)
	long, _ = json.Marshal((*grantLegacy)(&g))
	for name, raw := range map[string][]byte{"grant": short, "earlier grant": long} {
		if !storedGrant(raw) {
			t.Fatalf("%s read as a used marker: %s", name, raw)
		}
	}
	if spent := usedMarkerOf(&g); storedGrant(spent) {
		t.Fatalf("the used marker %s read as a grant", spent)
	}

	var zero usedMarker
	if err := json.Unmarshal([]byte(`{"f":"fam"}`), &zero); err != nil || !zero.Deadline.IsZero() || !zero.UsedAt.IsZero() {
		t.Fatalf("a marker without times: %+v %v", zero, err)
	}
}

// TestGrantStoredFormHoldsEveryField sets every field of a grant and reads
// it back from the stored form: a field added to grant but not to its
// stored form (grantWire) would be lost between the code and the tokens.
func TestGrantStoredFormHoldsEveryField(t *testing.T) {
	at := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
	var g grant
	v := reflect.ValueOf(&g).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"openid"}))
		case reflect.Pointer:
			f.Set(reflect.ValueOf(&requestedClaims{IDToken: []string{"email"}}))
		case reflect.Struct:
			f.Set(reflect.ValueOf(at.Add(time.Duration(i) * time.Minute)))
		default:
			t.Fatalf("field %s of kind %s: teach this test to set it", v.Type().Field(i).Name, f.Kind())
		}
	}
	b, err := json.Marshal(&g)
	if err != nil {
		t.Fatal(err)
	}
	var back grant
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	bv := reflect.ValueOf(back)
	for i := range v.NumField() {
		if !reflect.DeepEqual(v.Field(i).Interface(), bv.Field(i).Interface()) {
			t.Errorf("field %s: stored %v, read back %v (%s)", v.Type().Field(i).Name, v.Field(i).Interface(), bv.Field(i).Interface(), b)
		}
	}
}

// The sid a client sees stays what it was: the first 32 hex digits of
// HashKey("sid:" + session hash + ":" + client id), whatever the lengths.
func TestSIDForIsStable(t *testing.T) {
	for _, tt := range []struct{ hash, client string }{
		{sessions.HashKey("s"), "esenzioni"},
		{"", ""},
		{strings.Repeat("h", 300), strings.Repeat("c", 100)},
	} {
		want := sessions.HashKey("sid:" + tt.hash + ":" + tt.client)[:32]
		if got := sidFor(tt.hash, tt.client); got != want {
			t.Errorf("sidFor(%.10q, %.10q) = %s, want %s", tt.hash, tt.client, got, want)
		}
	}
}

// The grant's short form is written as json.Marshal writes grantWire, and
// read as json.Unmarshal reads it, by the fast path and its fallback alike.
func TestGrantWireMatchesEncodingJSON(t *testing.T) {
	for _, w := range []grantWire{
		{},
		{Family: "fam", ClientID: "esenzioni", SessionHash: strings.Repeat("A", 43), FiscalCode: "RSSMRA80A01H501U", Deadline: 1764811835814},
		{Family: "f", ClientID: "c", Scopes: []string{"openid", "profile"}, SessionHash: "h", FiscalCode: "cf", SID: "sid", Deadline: -1,
			DeadlineNS: 5, RedirectURI: "https://rp.example/cb?a=1&b=<2>", Challenge: "pk", Nonce: "n\"ö", ACR: "acr", Offline: true, Expires: 7, ExpiresNS: 9},
		{Family: "f", Scopes: []string{}, Claims: &requestedClaims{IDToken: []string{ClaimGivenName}}},
	} {
		want, err := json.Marshal(&w)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendWire(nil, &w)
		if err != nil || string(got) != string(want) {
			t.Errorf("appendWire:\n got %s (%v)\nwant %s", got, err, want)
		}
		var back, ref grantWire
		if err := unmarshalWire(got, &back); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(got, &ref)
		if !reflect.DeepEqual(back, ref) {
			t.Errorf("unmarshalWire(%s) = %+v, json.Unmarshal %+v", got, back, ref)
		}
	}
}

func FuzzGrantWireDecode(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"f":"a","c":"b","s":["openid"],"h":"x","cf":"y","dm":1764811835814,"o":true}`,
		`{"s":[],"x":-0,"xm":9223372036854775807}`, `{"s":null,"o":false}`, `{"dm":01}`, `{"dm":1.5}`, `{"dm":1e3}`,
		`{"f":"\u0041"}`, `{"F":"a"}`, `{"f":"a","f":"b"}`, `{"f":null}`, ` {"f":"a"}`, `{"f":"a"} `, `{"cl":{"id_token":["x"]}}`,
		`{"family":"a","deadline":"2026-01-01T00:00:00Z"}`, `{"x":99999999999999999999}`, `{"f":"a",}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast grantWire
		if !fast.decode(b) {
			return // json.Unmarshal's alone
		}
		var ref grantWire
		if err := json.Unmarshal(b, &ref); err != nil {
			t.Fatalf("%q: the fast path read what json.Unmarshal refuses: %v", b, err)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("%q: fast %+v, json %+v", b, fast, ref)
		}
	})
}
