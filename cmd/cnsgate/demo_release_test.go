package main

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/demo"
)

var releaseIDRE = regexp.MustCompile(`name="id" value="([^"]+)"`)

// releaseChoice answers the data-release page p with choice.
func (d *runningDemo) releaseChoice(t *testing.T, get func(string, string, url.Values, string) page, p page, choice string) page {
	t.Helper()
	mustContain(t, p, "Dati che saranno inviati al servizio", `action="`+d.cfg.Issuer+`/cns/release"`)
	form := url.Values{"csrf": {field(t, csrfFieldRE, p)}, "id": {field(t, releaseIDRE, p)}, "choice": {choice}}
	return get("POST", d.cfg.Issuer+"/cns/release", form, d.cfg.Issuer)
}

// TestDemoReleasePage runs the demo with --confirm-release
// (login.confirm_release): the first login to Esenzioni lists what it will
// receive (fiscal code, name, card type...); "Continua" ends at Esenzioni
// with the citizen's data. A second login in another browser goes straight
// through (remembered in the registry). An authorization request of the
// same client with other scopes shows the page again, with only that list,
// and its "Annulla" answers access_denied with the request's state and iss.
func TestDemoReleasePage(t *testing.T) {
	d := startDemo(t, "--confirm-release")
	citizen, _ := d.setup.Card("citizen")
	b := d.browser(t, "citizen")
	get := func(m, u string, f url.Values, o string) page { return fetch(t, b, m, u, f, o) }
	first := d.loginAtRP(t, b)
	if !strings.HasPrefix(first.url.String(), d.cfg.Issuer) {
		t.Fatalf("the first login ended at %s, want the data-release page", first.url)
	}
	mustContain(t, first, "Esenzioni da reddito", "Codice fiscale", citizen.FiscalCode, "Nome", "Mario", "Cognome", "Rossi", "Tipo di tessera")
	// A post from another origin, or with a forged token, is refused and
	// leaves the page usable.
	forged := url.Values{"csrf": {"forged-token-forged-token"}, "id": {field(t, releaseIDRE, first)}, "choice": {"continue"}}
	if p := get("POST", d.cfg.Issuer+"/cns/release", forged, d.cfg.Issuer); p.code != 403 {
		t.Fatalf("a forged token got %d", p.code)
	}
	good := url.Values{"csrf": {field(t, csrfFieldRE, first)}, "id": {field(t, releaseIDRE, first)}, "choice": {"continue"}}
	if p := get("POST", d.cfg.Issuer+"/cns/release", good, "https://evil.example"); p.code != 403 {
		t.Fatalf("a cross-origin post got %d", p.code)
	}
	back := d.releaseChoice(t, get, first, "continue")
	if back.url.String() != d.rpURL+"/" {
		t.Fatalf("Continua ended at %s (%d):\n%s", back.url, back.code, back.body)
	}
	mustContain(t, back, citizen.FiscalCode, "Mario Rossi")
	if !strings.Contains(d.stderr.String(), "event.kind=release event.outcome=success") {
		t.Fatalf("the agreement is not audited:\n%s", d.stderr.String())
	}

	// Remembered: another browser, the same citizen, no page.
	again := d.loginAtRP(t, d.browser(t, "citizen"))
	if again.url.String() != d.rpURL+"/" {
		t.Fatalf("the second login ended at %s (%d), want Esenzioni without the page:\n%s", again.url, again.code, again.body)
	}
	mustContain(t, again, citizen.FiscalCode)

	// Another list (fiscal_number only): asked again, on the live session.
	q := url.Values{"client_id": {"esenzioni"}, "redirect_uri": {d.setup.Esenzioni.RedirectURL}, "response_type": {"code"},
		"scope": {"openid fiscal_number"}, "state": {"s-release-test"}, "nonce": {"n1"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	changed := get("GET", d.cfg.Issuer+"/authorize?"+q.Encode(), nil, "")
	mustContain(t, changed, "Codice fiscale", citizen.FiscalCode)
	if strings.Contains(changed.body, "Tipo di tessera") {
		t.Fatalf("the page lists a field the scopes do not release:\n%s", changed.body)
	}
	nr := *b
	nr.CheckRedirect = func(req *http.Request, _ []*http.Request) error { return http.ErrUseLastResponse }
	form := url.Values{"csrf": {field(t, csrfFieldRE, changed)}, "id": {field(t, releaseIDRE, changed)}, "choice": {"cancel"}}
	resp := postNoRedirect(t, &nr, d.cfg.Issuer+"/cns/release", form, d.cfg.Issuer)
	loc, err := url.Parse(resp)
	if err != nil || !strings.HasPrefix(resp, d.setup.Esenzioni.RedirectURL+"?") {
		t.Fatalf("Annulla went to %q", resp)
	}
	if v := loc.Query(); v.Get("error") != "access_denied" || v.Get("state") != "s-release-test" || v.Get("iss") != d.cfg.Issuer {
		t.Fatalf("Annulla's answer %v", v)
	}
	if !strings.Contains(d.stderr.String(), "event.kind=release event.outcome=failure event.reason=cancelled") {
		t.Fatalf("the refusal is not audited:\n%s", d.stderr.String())
	}
	// prompt=none may show no page: consent_required for the list not agreed.
	q.Set("prompt", "none")
	req, _ := http.NewRequest("GET", d.cfg.Issuer+"/authorize?"+q.Encode(), nil)
	none, err := nr.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	none.Body.Close()
	if u, err := url.Parse(none.Header.Get("Location")); err != nil || u.Query().Get("error") != "consent_required" || u.Query().Get("state") != "s-release-test" {
		t.Fatalf("prompt=none answered %d %q, want consent_required", none.StatusCode, none.Header.Get("Location"))
	}
	// Refused, not forgotten: the first list still goes straight through.
	if third := d.loginAtRP(t, d.browser(t, "citizen")); third.url.String() != d.rpURL+"/" {
		t.Fatalf("after Annulla the agreed list asks again: %s (%d)", third.url, third.code)
	}
}

// TestDemoReleasePageCMS: the CMS's first login with the operator card
// lists the SAML profile's attributes (roles, organisation); "Annulla"
// posts Responder/RequestDenied to the CMS's ACS, which refuses the login.
func TestDemoReleasePageCMS(t *testing.T) {
	d := startDemo(t, "--confirm-release")
	b := d.browser(t, "operator")
	get := func(m, u string, f url.Values, o string) page { return fetch(t, b, m, u, f, o) }
	cmsURL := d.setup.CMS.BaseURL
	gate := get("GET", cmsURL+"/login", nil, "")
	rel := get("GET", html.UnescapeString(field(t, cardLinkRE, gate)), nil, "")
	mustContain(t, rel, demo.CMSName, "Ruoli", "operatore_asl", "Organizzazione", "ASL Demo (120999)", "Laura")
	resp := d.releaseChoice(t, get, rel, "cancel")
	m := samlFormRE.FindStringSubmatch(resp.body)
	if m == nil || html.UnescapeString(m[1]) != cmsURL+demo.CMSACSPath {
		t.Fatalf("%s (%d): no SAML form to the CMS's ACS:\n%s", resp.url, resp.code, resp.body)
	}
	fields := url.Values{}
	for _, f := range samlHiddenRE.FindAllStringSubmatch(resp.body, -1) {
		fields.Set(f[1], html.UnescapeString(f[2]))
	}
	xml := decodeSAML(t, fields.Get("SAMLResponse"))
	if !strings.Contains(xml, "status:Responder") || !strings.Contains(xml, "status:RequestDenied") || strings.Contains(xml, "Assertion") {
		t.Fatalf("not a RequestDenied Response without assertion:\n%s", xml)
	}
	if at := get("POST", cmsURL+demo.CMSACSPath, fields, d.cfg.Issuer); at.code != 403 {
		t.Fatalf("the CMS answered %d to RequestDenied:\n%s", at.code, at.body)
	}
	// Nothing was agreed: the next login asks again.
	gate = get("GET", cmsURL+"/login", nil, "")
	mustContain(t, gate, "Dati che saranno inviati al servizio")
	account := d.releaseChoice(t, get, gate, "continue")
	m = samlFormRE.FindStringSubmatch(account.body)
	if m == nil {
		t.Fatalf("Continua gave no SAML form:\n%s", account.body)
	}
}

// postNoRedirect posts form and returns the Location of the answer.
func postNoRedirect(t *testing.T, c *http.Client, u string, form url.Values, origin string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s answered %d, want a redirect", u, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// TestDemoReleasePageByDefault runs the demo as shipped, without
// --confirm-release: login.confirm_release is on by default, so the first
// login to Esenzioni stops at the data-release page and "Continua" goes on
// to Esenzioni. --confirm-release=false turns the page off: the first login
// of another demo goes straight to Esenzioni.
func TestDemoReleasePageByDefault(t *testing.T) {
	d := runDemo(t)
	if !d.cfg.Login.ConfirmRelease {
		t.Fatal("config.Load of the demo's configuration: login.confirm_release is false by default")
	}
	citizen, _ := d.setup.Card("citizen")
	b := d.browser(t, "citizen")
	get := func(m, u string, f url.Values, o string) page { return fetch(t, b, m, u, f, o) }
	first := d.loginAtRP(t, b)
	if !strings.HasPrefix(first.url.String(), d.cfg.Issuer) {
		t.Fatalf("the first login ended at %s, want the data-release page", first.url)
	}
	mustContain(t, first, "Esenzioni da reddito", "Codice fiscale", citizen.FiscalCode)
	if back := d.releaseChoice(t, get, first, "continue"); back.url.String() != d.rpURL+"/" {
		t.Fatalf("Continua ended at %s (%d)", back.url, back.code)
	}

	off := runDemo(t, "--confirm-release=false")
	if p := off.loginAtRP(t, off.browser(t, "citizen")); p.url.String() != off.rpURL+"/" {
		t.Fatalf("with --confirm-release=false the first login ended at %s (%d), want Esenzioni", p.url, p.code)
	}
}
