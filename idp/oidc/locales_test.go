package oidc_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// getIn fetches u with the browser's Accept-Language.
func (b *browser) getIn(u, acceptLanguage string) response {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept-Language", acceptLanguage)
	return b.do(req)
}

var reqRE = regexp.MustCompile(`name="req" value="([^"]+)"`)

// TestUILocales: ui_locales chooses the language of every page of the
// login, before Accept-Language: "Accedi con TS/CNS" on the public origin,
// "Registra TS-CNS" and its outcome on the card listener, the form_post
// page that returns to the relying party, and the error page of a refused
// request. An unsupported language falls back to Accept-Language.
func TestUILocales(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	lang := regexp.MustCompile(`<html lang="([a-z]+)"`)
	must := func(t *testing.T, r response, want string, texts ...string) {
		t.Helper()
		m := lang.FindStringSubmatch(r.body)
		if m == nil || m[1] != want {
			t.Fatalf("page in %v, want %s (%d):\n%s", m, want, r.status, r.body)
		}
		for _, s := range texts {
			if !strings.Contains(r.body, s) {
				t.Fatalf("page lacks %q:\n%s", s, r.body)
			}
		}
	}
	_, challenge := newVerifier()
	for _, tt := range []struct {
		name, uiLocales, acceptLanguage, want, title string
	}{
		{"ok/en-over-italian-browser", "en", "it-IT,it;q=0.9", "en", "Log in with your health card"},
		{"ok/first-supported-tag", "fr-CA en-GB it", "it", "en", "Log in with your health card"},
		{"ok/it-over-english-browser", "it", "en-US,en", "it", "Accedi ai servizi con la tua Tessera Sanitaria"},
		{"ok/unsupported-falls-back", "de fr", "en", "en", "Log in with your health card"},
		{"ok/absent-falls-back", "", "it", "it", "Accedi ai servizi con la tua Tessera Sanitaria"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A new card each time: it registers, replacing the last one.
			card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: citizenCF, GivenName: "MARIO", FamilyName: "ROSSI"})
			br := h.browser(card)
			// The login page of the public origin.
			home := br.getIn(h.authURL("native", challenge, url.Values{"ui_locales": {tt.uiLocales}, "response_mode": {"form_post"}}), tt.acceptLanguage)
			must(t, home, tt.want, tt.title)
			link := loginLinkRE.FindStringSubmatch(home.body)
			if link == nil {
				t.Fatalf("no card login link:\n%s", home.body)
			}
			// The card listener: the card is not registered yet.
			reg := br.getIn(strings.ReplaceAll(link[1], "&amp;", "&"), tt.acceptLanguage)
			must(t, reg, tt.want, map[string]string{"en": "Register your TS-CNS", "it": "Registra TS-CNS"}[tt.want])
			csrf, req := csrfRE.FindStringSubmatch(reg.body), reqRE.FindStringSubmatch(reg.body)
			if csrf == nil || req == nil {
				t.Fatalf("registration form without csrf or req:\n%s", reg.body)
			}
			form := url.Values{"csrf": {csrf[1]}, "consent": {"yes"}, "req": {req[1]}}
			post, _ := http.NewRequest(http.MethodPost, h.cns.URL+"/cns/register", strings.NewReader(form.Encode()))
			post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			post.Header.Set("Origin", h.cns.URL)
			post.Header.Set("Accept-Language", tt.acceptLanguage)
			done := br.do(post)
			must(t, done, tt.want, map[string]string{"en": "Registration complete", "it": "Registrazione completata"}[tt.want])
			// "Continua": the login completes and the form_post page
			// returns to the relying party.
			cont := regexp.MustCompile(`href="([^"]*/cns/login\?req=[^"]+)"`).FindStringSubmatch(done.body)
			if cont == nil {
				t.Fatalf("no link to continue:\n%s", done.body)
			}
			back := br.getIn(strings.ReplaceAll(cont[1], "&amp;", "&"), tt.acceptLanguage)
			must(t, back, tt.want, `name="code"`)
		})
	}
	t.Run("ok/handoff-refusal", func(t *testing.T) {
		// The handoff link of a login begun with ui_locales=en, opened in
		// another browser, is refused in English.
		card := h.citizenCard()
		br := h.browser(card)
		stop := br.c.CheckRedirect
		br.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if req.URL.Path == "/cns/complete" {
				return http.ErrUseLastResponse
			}
			return stop(req, via)
		}
		home := br.getIn(h.authURL("native", challenge, url.Values{"ui_locales": {"en"}}), "it")
		link := loginLinkRE.FindStringSubmatch(home.body)
		if link == nil {
			t.Fatalf("no card login link:\n%s", home.body)
		}
		r := br.getIn(strings.ReplaceAll(link[1], "&amp;", "&"), "it")
		if r.location == nil || r.location.Path != "/cns/complete" {
			t.Fatalf("card login answered %d %v", r.status, r.location)
		}
		other := h.browser(card)
		refused := other.getIn(r.location.String(), "it")
		if refused.status != http.StatusForbidden {
			t.Fatalf("handoff in another browser answered %d", refused.status)
		}
		must(t, refused, "en")
	})
	t.Run("ok/error-page", func(t *testing.T) {
		br := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: citizenCF}))
		u := h.authURL("native", challenge, url.Values{"ui_locales": {"en"}, "redirect_uri": {"https://elsewhere.example/cb"}})
		r := br.getIn(u, "it")
		if r.status != http.StatusBadRequest {
			t.Fatalf("unregistered redirect_uri answered %d", r.status)
		}
		must(t, r, "en", "Invalid request")
	})
}
