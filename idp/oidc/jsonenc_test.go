package oidc

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"testing"
)

// The hand-written encoders write what encoding/json writes, byte for
// byte, for every value the claims and answers carry and for those they
// hand over to it.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]any
	}{
		{"ok/empty", map[string]any{}},
		{"ok/id-token", map[string]any{
			"sub": "yK3-_x", "iss": "https://idp.example", "aud": []string{"esenzioni"}, "azp": "esenzioni",
			"iat": int64(1700000000), "exp": int64(1700000300), "nbf": int64(-5), "auth_time": int64(0),
			ClaimAMR: []string{"hwk", "sc"}, ClaimACR: "https://www.spid.gov.it/SpidL2", "jti": "5d1c",
			NamespaceEID + ClaimFiscalNumber: "TINIT-RSSMRA80A01H501U", ClaimRoles: []string{},
		}},
		{"ok/escapes", map[string]any{
			"given_name": "Niccolò", "family_name": `D'Angelo "<b>" & \ co`, "ctl": "a\x00b\n\t\x7f",
			"sep": "\u2028\u2029", "bad-utf8": "\xff\xfe", "<key>&": "v", "nil-slice": []string(nil),
		}},
		{"ok/fallback", map[string]any{
			"active": true, "inactive": false, "n": 42, "f": 1.5, "nested": map[string]any{"z": 1, "a": []any{"x", nil}},
			"null": nil, "claims": &requestedClaims{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendClaims(nil, tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("appendClaims:\n got %s\nwant %s", got, want)
			}
			rec := httptest.NewRecorder()
			writeJSON(rec, 200, tt.claims)
			if body := rec.Body.Bytes(); !bytes.Equal(body, append(want, '\n')) {
				t.Errorf("writeJSON:\n got %q\nwant %q", body, want)
			}
		})
	}
	t.Run("fail/unsupported", func(t *testing.T) {
		if _, err := appendClaims(nil, map[string]any{"x": math.Inf(1)}); err == nil {
			t.Error("an infinite number was encoded")
		}
		rec := httptest.NewRecorder()
		writeJSON(rec, 200, map[string]any{"x": math.NaN()})
		if rec.Body.Len() != 0 {
			t.Errorf("body %q for an unencodable value", rec.Body.String())
		}
	})
	for _, tr := range []tokenResponse{
		{AccessToken: "at", TokenType: "Bearer", ExpiresIn: 300, RefreshToken: "rt", IDToken: "a.b.c", Scope: "openid profile"},
		{AccessToken: "a<t>&", TokenType: "Bearer", ExpiresIn: -1},
	} {
		want, _ := json.Marshal(&tr)
		if got := appendTokenResponse(nil, &tr); !bytes.Equal(got, want) {
			t.Errorf("appendTokenResponse:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `"q"\`, "<&>", "\u2028", "\xff", "\x00\x1f\x7f", "àèìòù"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(map[string]any{s: s, "l": []string{s}})
		got, err := appendClaims(nil, map[string]any{s: s, "l": []string{s}})
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s (%v), want %s", s, got, err, want)
		}
	})
}
