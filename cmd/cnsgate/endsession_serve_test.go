package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const testPostLogout = "https://esenzioni.example/bye"

// endSessionAt sends an RP-initiated logout to the running server by GET
// (form nil: params in the query) or form POST from the relying party's
// origin, and returns the status, the Location and the body.
func (s *testServer) endSessionAt(t *testing.T, b *http.Client, method string, params url.Values) (int, string, string) {
	t.Helper()
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequest(method, s.cfg.Issuer+"/logout?"+params.Encode(), nil)
	} else {
		req, _ = http.NewRequest(method, s.cfg.Issuer+"/logout", strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://esenzioni.example")
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// TestServeEndSession: oidc.logout_confirmation as configured in a
// running server. By default an end_session without a hint asks "Vuoi
// uscire?", a form POST with an id_token_hint of the session logs out at
// once, and without a session the browser goes straight back with its
// state; with `never` a request without a hint logs out at once too.
func TestServeEndSession(t *testing.T) {
	config := func(mode string) func(string) string {
		return func(y string) string {
			y += oidcConfig(t, "") + "      post_logout_redirect_uris: [" + testPostLogout + "]\n"
			if mode != "" {
				y += "  logout_confirmation: " + mode + "\n"
			}
			return y
		}
	}
	params := func(kv ...string) url.Values {
		v := url.Values{"post_logout_redirect_uri": {testPostLogout}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	ended := `cnsgate_sessions_ended_total{cause="logout"}`

	t.Run("default", func(t *testing.T) {
		s := startServer(t, config(""))
		citizen, _ := s.setup.Card("citizen")
		b := s.rpBrowser(t, citizen)
		hint, _ := s.oidcTokens(t, b, "openid")["id_token"].(string)
		code, loc, body := s.endSessionAt(t, b, http.MethodGet, params("client_id", "esenzioni", "state", "s1"))
		if code != http.StatusOK || loc != "" || !strings.Contains(body, "Vuoi uscire?") {
			t.Fatalf("end_session without a hint: %d %q\n%s", code, loc, body)
		}
		code, loc, body = s.endSessionAt(t, b, http.MethodPost, params("id_token_hint", hint, "state", "s2"))
		if code != http.StatusSeeOther || loc != testPostLogout+"?state=s2" {
			t.Fatalf("end_session POST with the session's hint: %d %q\n%s", code, loc, body)
		}
		if n := s.counter(t, ended); n != 1 {
			t.Fatalf("%s = %v", ended, n)
		}
		mustContain(t, fetch(t, b, "GET", s.cfg.Issuer+"/", nil, ""), "Accedi con TS/CNS")
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			code, loc, body = s.endSessionAt(t, b, m, params("client_id", "esenzioni", "state", "s3"))
			if code != http.StatusSeeOther || loc != testPostLogout+"?state=s3" {
				t.Fatalf("end_session %s without a session: %d %q\n%s", m, code, loc, body)
			}
		}
		code, loc, body = s.endSessionAt(t, b, http.MethodPost, params("client_id", "esenzioni", "post_logout_redirect_uri", "https://evil.example/"))
		if code != http.StatusBadRequest || loc != "" || !strings.Contains(body, "Uscita non riuscita") {
			t.Fatalf("end_session to an unregistered URI: %d %q\n%s", code, loc, body)
		}
	})
	t.Run("never", func(t *testing.T) {
		s := startServer(t, config("never"))
		citizen, _ := s.setup.Card("citizen")
		b := s.rpBrowser(t, citizen)
		s.oidcTokens(t, b, "openid")
		code, loc, body := s.endSessionAt(t, b, http.MethodGet, params("client_id", "esenzioni", "state", "s4"))
		if code != http.StatusSeeOther || loc != testPostLogout+"?state=s4" {
			t.Fatalf("end_session without a hint under never: %d %q\n%s", code, loc, body)
		}
		if n := s.counter(t, ended); n != 1 {
			t.Fatalf("%s = %v", ended, n)
		}
	})
}
