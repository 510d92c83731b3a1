package web

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestRenderForm(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, action, lang string
		trust              bool
		want, formAction   string
	}{
		{"ok/https", "https://rp.example/acs?x=1", "", false, `action="https://rp.example/acs?x=1"`, "https://rp.example"},
		{"ok/english", "https://rp.example/acs", "en", false, "Continue", "https://rp.example"},
		{"ok/native-scheme", "com.example.app:/cb", "", true, `action="com.example.app:/cb"`, "com.example.app:"},
		{"fail/script-scheme", "javascript:alert(1)", "", false, `action="#ZgotmplZ"`, "javascript:"},
		{"ok/relative", "/saml/sso", "", false, `action="/saml/sso"`, "'self'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.Header.Set("Accept-Language", tc.lang)
			w := httptest.NewRecorder()
			f := Form{Action: tc.action, TrustAction: tc.trust, Fields: []Field{{"SAMLResponse", `"><script>alert(1)</script>`}, {"RelayState", "r&s"}}}
			if err := p.RenderForm(w, r, f); err != nil {
				t.Fatal(err)
			}
			body := w.Body.String()
			for _, want := range []string{tc.want, "<noscript>", `type="submit">`, `name="RelayState" value="r&amp;s"`, "<!doctype html>"} {
				if !strings.Contains(body, want) {
					t.Fatalf("page lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, "<script>alert") {
				t.Fatalf("a field value escaped its attribute:\n%s", body)
			}
			csp := w.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "form-action "+tc.formAction+";") {
				t.Fatalf("CSP %q does not limit the form to %s", csp, tc.formAction)
			}
			// The one script on the page is the one the policy allows.
			scripts := regexp.MustCompile(`<script>([^<]*)</script>`).FindAllStringSubmatch(body, -1)
			if len(scripts) != 1 {
				t.Fatalf("%d scripts on the page", len(scripts))
			}
			sum := sha256.Sum256([]byte(scripts[0][1]))
			if !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
				t.Fatalf("CSP %q does not allow the page's script", csp)
			}
			for k, v := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
				if w.Header().Get(k) != v {
					t.Errorf("%s = %q, want %q", k, w.Header().Get(k), v)
				}
			}
		})
	}
}

func TestRenderErrorKinds(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		e    ErrorPage
		lang string
		want []string
	}{
		{"ok/reason", ErrorPage{Reason: "revoked", RequestID: "req-1", BackURL: "https://idp.example/"},
			"", []string{texts[Italian]["reason.revoked"], texts[Italian]["error.title"], "req-1", `href="https://idp.example/"`}},
		{"ok/message-key", ErrorPage{TitleKey: "request.title", MessageKey: "oidc.request", RequestID: "req-2"},
			"en", []string{texts[English]["request.title"], "req-2", `lang="en"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Accept-Language", tc.lang)
			w := httptest.NewRecorder()
			if err := p.RenderError(w, r, 400, tc.e); err != nil {
				t.Fatal(err)
			}
			body := w.Body.String()
			for _, want := range tc.want {
				if !strings.Contains(body, strings.ReplaceAll(want, "'", "&#39;")) {
					t.Errorf("page lacks %q:\n%s", want, body)
				}
			}
		})
	}
}
