package esenzioni

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// validLogoutClaims are the claims of a valid logout token from op.
func validLogoutClaims(op *fakeOP) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": op.srv.URL, "aud": []string{testClientID}, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": rand.Text(), "sub": "pairwise-sub", "sid": testSID,
		"events": map[string]any{eventBackchannelLogout: map[string]any{}},
	}
}

func TestVerifyLogoutToken(t *testing.T) {
	op := newFakeOP(t)
	app, _ := newTestApp(t, op)
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(map[string]any)
		typ  string
		key  *ecdsa.PrivateKey // default op.key
		raw  string            // instead of a signed token
		want error             // nil: accepted
	}{
		{name: "ok/logout+jwt", typ: "logout+jwt"},
		{name: "ok/application-type", typ: "application/logout+jwt"},
		{name: "ok/no-typ"},
		{name: "fail/bad-signature", typ: "logout+jwt", key: stranger, want: ErrLogoutTokenInvalid},
		{name: "fail/wrong-aud", edit: func(c map[string]any) { c["aud"] = []string{"cms"} }, want: ErrLogoutTokenInvalid},
		{name: "fail/wrong-iss", edit: func(c map[string]any) { c["iss"] = "https://elsewhere.example" }, want: ErrLogoutTokenInvalid},
		{name: "fail/missing-events", edit: func(c map[string]any) { delete(c, "events") }, want: ErrLogoutTokenInvalid},
		{name: "fail/other-event", edit: func(c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		}, want: ErrLogoutTokenInvalid},
		{name: "fail/nonce", edit: func(c map[string]any) { c["nonce"] = "n" }, want: ErrLogoutTokenInvalid},
		{name: "fail/expired", edit: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }, want: ErrLogoutTokenInvalid},
		{name: "fail/no-jti", edit: func(c map[string]any) { delete(c, "jti") }, want: ErrLogoutTokenInvalid},
		{name: "fail/no-sid", edit: func(c map[string]any) { delete(c, "sid") }, want: ErrLogoutTokenNoSID},
		{name: "fail/no-iat", edit: func(c map[string]any) { delete(c, "iat") }, want: ErrLogoutTokenIssuedAt},
		{name: "fail/iat-in-future", edit: func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }, want: ErrLogoutTokenIssuedAt},
		{name: "fail/id-token-type", typ: "JWT", want: ErrLogoutTokenType},
		{name: "fail/not-a-jws", raw: "not-a-token", want: ErrLogoutTokenInvalid},
		{name: "fail/alg-none", raw: "eyJhbGciOiJub25lIn0." + "e30.", want: ErrLogoutTokenInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw
			if raw == "" {
				c := validLogoutClaims(op)
				if tc.edit != nil {
					tc.edit(c)
				}
				key := tc.key
				if key == nil {
					key = op.key
				}
				raw = op.sign(c, tc.typ, key)
			}
			lt, err := app.verifyLogoutToken(t.Context(), raw)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == nil && lt.SessionID != testSID:
				t.Fatalf("sid %q", lt.SessionID)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyLogoutTokenRefusesReplay(t *testing.T) {
	op := newFakeOP(t)
	app, _ := newTestApp(t, op)
	raw := op.sign(validLogoutClaims(op), "logout+jwt", op.key)
	if _, err := app.verifyLogoutToken(t.Context(), raw); err != nil {
		t.Fatalf("first use refused: %v", err)
	}
	if _, err := app.verifyLogoutToken(t.Context(), raw); !errors.Is(err, ErrLogoutTokenReplayed) {
		t.Fatalf("replay: got %v, want %v", err, ErrLogoutTokenReplayed)
	}
	// Another token with a new jti for the same session is fine.
	if _, err := app.verifyLogoutToken(t.Context(), op.sign(validLogoutClaims(op), "logout+jwt", op.key)); err != nil {
		t.Fatalf("new jti refused: %v", err)
	}
}

// TestBackchannelLogoutEndsSession posts logout tokens to the endpoint as
// the provider would: a refused one gets 400 and leaves the session, a
// valid one gets 200 and ends it.
func TestBackchannelLogoutEndsSession(t *testing.T) {
	op := newFakeOP(t)
	_, rp := newTestApp(t, op)
	b := newBrowser(t, rp)
	if p := b.get(t, rp.URL+"/login"); !strings.Contains(p.body, testCF) {
		t.Fatalf("not logged in: %d\n%s", p.code, p.body)
	}
	post := func(form url.Values) (int, string) {
		resp, err := rp.Client().PostForm(rp.URL+"/backchannel-logout", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
		}
		return resp.StatusCode, body.Error
	}
	if code, e := post(url.Values{}); code != http.StatusBadRequest || e != "invalid_request" {
		t.Fatalf("no token: %d %q", code, e)
	}
	wrongAud := validLogoutClaims(op)
	wrongAud["aud"] = "cms"
	if code, e := post(url.Values{"logout_token": {op.sign(wrongAud, "logout+jwt", op.key)}}); code != http.StatusBadRequest || e != "invalid_request" {
		t.Fatalf("wrong aud: %d %q", code, e)
	}
	if p := b.get(t, rp.URL+"/"); !strings.Contains(p.body, testCF) {
		t.Fatal("a refused logout token ended the session")
	}
	raw := op.sign(validLogoutClaims(op), "logout+jwt", op.key)
	if code, _ := post(url.Values{"logout_token": {raw}}); code != http.StatusOK {
		t.Fatalf("valid token: %d", code)
	}
	if p := b.get(t, rp.URL+"/"); strings.Contains(p.body, testCF) || !strings.Contains(p.body, "Accedi con TS/CNS") {
		t.Fatalf("session not ended by the logout token:\n%s", p.body)
	}
	if code, _ := post(url.Values{"logout_token": {raw}}); code != http.StatusBadRequest {
		t.Fatalf("replayed token: %d", code)
	}
}
