package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/cnsgate/cnsgate/idp/oidc"
)

// endEnv is one case of TestEndSession: a citizen's browser with a
// session in which esenzioni holds an ID token.
type endEnv struct {
	h     *harness
	br    *browser
	hint  string // an ID token of br's session, for esenzioni
	bye   string // esenzioni's registered post-logout URI
	state string
}

// TestEndSession drives RP-Initiated Logout 1.0 against the running
// service: GET and form POST, a valid, an expired, a foreign and another
// session's id_token_hint, an unregistered post_logout_redirect_uri, no
// session at all, ui_locales, and the three oidc.logout_confirmation modes.
func TestEndSession(t *testing.T) {
	params := func(e *endEnv, extra ...string) url.Values {
		v := url.Values{"post_logout_redirect_uri": {e.bye}, "state": {e.state}}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "" {
				v.Del(extra[i])
			} else {
				v.Set(extra[i], extra[i+1])
			}
		}
		return v
	}
	tests := []struct {
		name string
		mode oidc.LogoutConfirmation
		run  func(t *testing.T, e *endEnv)
	}{
		{"ok/get-valid-hint-logs-out-at-once", "", func(t *testing.T, e *endEnv) {
			r := e.getEnd(params(e, "id_token_hint", e.hint))
			e.wantRedirect(t, r)
			e.wantEnded(t)
		}},
		{"ok/post-valid-hint-logs-out-at-once", "", func(t *testing.T, e *endEnv) {
			r := e.postEnd(params(e, "id_token_hint", e.hint))
			e.wantRedirect(t, r)
			e.wantEnded(t)
		}},
		{"ok/expired-hint-of-this-session-logs-out-at-once", "", func(t *testing.T, e *endEnv) {
			e.h.clock.Advance(6 * time.Minute) // past the ID token's 5m, within the 15m idle timeout
			e.wantLive(t)
			r := e.getEnd(params(e, "id_token_hint", e.hint))
			e.wantRedirect(t, r)
			e.wantEnded(t)
		}},
		{"ok/hint-of-another-session-asks", "", func(t *testing.T, e *endEnv) {
			other := e.h.citizen()
			_, _, otherHint := e.h.tokens(e.h.exchangeFresh(other, "esenzioni"))
			r := e.getEnd(params(e, "id_token_hint", otherHint))
			csrf := e.wantConfirm(t, r, "Vuoi uscire?")
			e.wantLive(t)
			e.wantRedirect(t, e.br.post(e.h.public.URL+"/logout", url.Values{"csrf": {csrf}}))
			e.wantEnded(t)
		}},
		{"ok/client-id-without-hint-asks", "", func(t *testing.T, e *endEnv) {
			r := e.postEnd(params(e, "client_id", "esenzioni"))
			csrf := e.wantConfirm(t, r, "Vuoi uscire?")
			e.wantRedirect(t, e.br.post(e.h.public.URL+"/logout", url.Values{"csrf": {csrf}}))
			e.wantEnded(t)
		}},
		{"ok/ui-locales-en", "", func(t *testing.T, e *endEnv) {
			r := e.getEnd(params(e, "client_id", "esenzioni", "ui_locales", "de en-GB it", "post_logout_redirect_uri", ""))
			csrf := e.wantConfirm(t, r, "Log out?")
			lang := regexp.MustCompile(`name="lang" value="([^"]+)"`).FindStringSubmatch(r.body)
			if lang == nil || lang[1] != "en" {
				t.Fatalf("the confirmation form does not carry its language:\n%s", r.body)
			}
			done := e.br.post(e.h.public.URL+"/logout", url.Values{"csrf": {csrf}, "lang": {lang[1]}})
			if done.status != http.StatusOK || !strings.Contains(done.body, "You are logged out") {
				t.Fatalf("after the English confirmation: %d\n%s", done.status, done.body)
			}
			e.wantEnded(t)
		}},
		{"fail/foreign-hint-refused", "", func(t *testing.T, e *endEnv) {
			r := e.getEnd(params(e, "id_token_hint", e.h.foreignIDToken(e.hint)))
			e.wantRefused(t, r)
			r = e.postEnd(params(e, "id_token_hint", e.h.foreignIDToken(e.hint)))
			e.wantRefused(t, r)
			e.wantLive(t)
		}},
		{"fail/unregistered-post-logout-uri-refused", "", func(t *testing.T, e *endEnv) {
			for _, u := range []string{"https://evil.example/bye", e.bye + "/", e.h.rp.srv.URL + "/bye/post"} {
				e.wantRefused(t, e.getEnd(params(e, "id_token_hint", e.hint, "post_logout_redirect_uri", u)))
				e.wantRefused(t, e.postEnd(params(e, "client_id", "esenzioni", "post_logout_redirect_uri", u)))
			}
			e.wantLive(t)
		}},
		{"ok/no-session-redirects-with-state", "", func(t *testing.T, e *endEnv) {
			e.wantRedirect(t, e.getEnd(params(e, "id_token_hint", e.hint)))
			fresh := e.h.browser(nil)
			for _, r := range []response{
				fresh.get(e.h.public.URL + "/logout?" + params(e, "client_id", "esenzioni").Encode()),
				fresh.post(e.h.public.URL+"/logout", params(e, "client_id", "esenzioni")),
				fresh.post(e.h.public.URL+"/logout", params(e, "id_token_hint", e.hint)),
			} {
				e.wantRedirect(t, r)
			}
		}},
		{"ok/mode-always-asks-despite-valid-hint", oidc.ConfirmAlways, func(t *testing.T, e *endEnv) {
			e.wantConfirm(t, e.getEnd(params(e, "id_token_hint", e.hint)), "Vuoi uscire?")
			e.wantConfirm(t, e.postEnd(params(e, "id_token_hint", e.hint)), "Vuoi uscire?")
			e.wantLive(t)
		}},
		{"ok/mode-never-logs-out-without-hint", oidc.ConfirmNever, func(t *testing.T, e *endEnv) {
			e.wantRedirect(t, e.getEnd(params(e, "client_id", "esenzioni")))
			e.wantEnded(t)
		}},
		{"fail/mode-never-still-refuses-foreign-hint", oidc.ConfirmNever, func(t *testing.T, e *endEnv) {
			e.wantRefused(t, e.getEnd(params(e, "id_token_hint", e.h.foreignIDToken(e.hint))))
			e.wantLive(t)
		}},
		{"fail/forged-confirmation-titled-for-logout", "", func(t *testing.T, e *endEnv) {
			r := e.br.post(e.h.public.URL+"/logout", url.Values{"csrf": {"forged"}})
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "Uscita non riuscita") || strings.Contains(r.body, "Accesso non riuscito") {
				t.Fatalf("forged confirmation: %d\n%s", r.status, r.body)
			}
			e.wantLive(t)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := tt.mode
			h := newHarness(t, harnessOptions{provider: func(o *oidc.Options) { o.LogoutConfirmation = mode }})
			br := h.citizen()
			_, _, hint := h.tokens(h.exchangeFresh(br, "esenzioni"))
			tt.run(t, &endEnv{h: h, br: br, hint: hint, bye: h.rp.srv.URL + "/bye/esenzioni", state: "st-" + strings.ReplaceAll(tt.name, "/", "-")})
		})
	}
}

func (e *endEnv) getEnd(v url.Values) response {
	return e.br.get(e.h.public.URL + "/logout?" + v.Encode())
}

// postEnd sends the request as a relying party's auto-submitted form does:
// from its own origin.
func (e *endEnv) postEnd(v url.Values) response {
	req, _ := http.NewRequest(http.MethodPost, e.h.public.URL+"/logout", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.h.rp.srv.URL)
	return e.br.do(req)
}

func (e *endEnv) wantRedirect(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusSeeOther || r.location == nil || r.location.String() != e.bye+"?state="+url.QueryEscape(e.state) {
		t.Fatalf("want a redirect to %s with state %s, got %d %v\n%s", e.bye, e.state, r.status, r.location, r.body)
	}
}

func (e *endEnv) wantConfirm(t *testing.T, r response, title string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || r.location != nil || m == nil || !strings.Contains(r.body, title) {
		t.Fatalf("want the confirmation %q, got %d %v\n%s", title, r.status, r.location, r.body)
	}
	return m[1]
}

func (e *endEnv) wantRefused(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusBadRequest || r.location != nil || !strings.Contains(r.body, "Uscita non riuscita") || strings.Contains(r.body, "Accesso non riuscito") {
		t.Fatalf("want the refused-logout page, got %d %v\n%s", r.status, r.location, r.body)
	}
}

// wantEnded checks that the session is over: the back-channel logout
// reached esenzioni, the end was counted, the welcome page is gone.
func (e *endEnv) wantEnded(t *testing.T) {
	t.Helper()
	if got := e.h.rp.logout(t); got.client != "esenzioni" {
		t.Fatalf("back-channel logout went to %s", got.client)
	}
	if n := e.h.rec.endedBy("logout"); n != 1 {
		t.Fatalf("sessions ended by logout: %d", n)
	}
	if r := e.br.get(e.h.public.URL + "/"); strings.Contains(r.body, "Ti diamo il benvenuto") {
		t.Fatal("the session is still live")
	}
}

func (e *endEnv) wantLive(t *testing.T) {
	t.Helper()
	if r := e.br.get(e.h.public.URL + "/"); !strings.Contains(r.body, "Ti diamo il benvenuto") {
		t.Fatalf("the session ended:\n%s", r.body)
	}
	if n := e.h.rec.endedBy("logout"); n != 0 {
		t.Fatalf("sessions ended by logout: %d", n)
	}
}

// foreignIDToken re-signs the claims of one of our ID tokens with a key
// that is not ours, keeping typ, iss and kid.
func (h *harness) foreignIDToken(genuine string) string {
	h.t.Helper()
	parts := strings.Split(genuine, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		h.t.Fatal(err)
	}
	keys, err := signingKeys()
	if err != nil {
		h.t.Fatal(err)
	}
	key, err := jwk.ParseKey(keys["es256.pem"], jwk.WithPEM(true))
	if err != nil {
		h.t.Fatal(err)
	}
	tok := jwt.New()
	for k, v := range claims {
		_ = tok.Set(k, v)
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, "JWT")
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(signed)
}
