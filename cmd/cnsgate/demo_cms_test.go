package main

import (
	"html"
	"net"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/demo"
)

var (
	samlFormRE   = regexp.MustCompile(`<form[^>]*method="post"[^>]*action="([^"]+)"`)
	samlHiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
	cardLinkRE   = regexp.MustCompile(`href="([^"]+/cns/login[^"]*)"`)
)

// loginAtCMS goes from the CMS's "Accedi con TS/CNS" through cnsgate's
// card login to the page the SAML Response (HTTP-POST) leads to.
func (d *runningDemo) loginAtCMS(t *testing.T, card string) (page, func(method, u string, form url.Values, origin string) page) {
	t.Helper()
	b := d.browser(t, card)
	get := func(method, u string, form url.Values, origin string) page {
		return fetch(t, b, method, u, form, origin)
	}
	cmsURL := d.setup.CMS.BaseURL
	home := get("GET", cmsURL+"/", nil, "")
	mustContain(t, home, "Gestione tessere", "Accedi con TS/CNS", `href="/login"`)
	// samlsp redirects to cnsgate's /saml/sso with a signed AuthnRequest.
	gate := get("GET", cmsURL+"/login", nil, "")
	if !strings.HasPrefix(gate.url.String(), d.cfg.Issuer+"/saml/sso") {
		t.Fatalf("login went to %s (%d):\n%s", gate.url, gate.code, gate.body)
	}
	mustContain(t, gate, "Accedi con TS/CNS", "Stai accedendo a <strong>CMS - Gestione tessere</strong>",
		`href="`+d.cfg.Issuer+`/cns/cancel?req=`, `">Annulla e torna al servizio</a>`)
	resp := get("GET", html.UnescapeString(field(t, cardLinkRE, gate)), nil, "")
	m := samlFormRE.FindStringSubmatch(resp.body)
	if m == nil {
		t.Fatalf("%s (%d): no SAML form:\n%s", resp.url, resp.code, resp.body)
	}
	action := html.UnescapeString(m[1])
	if action != cmsURL+demo.CMSACSPath {
		t.Fatalf("the SAML form posts to %s", action)
	}
	fields := url.Values{}
	for _, f := range samlHiddenRE.FindAllStringSubmatch(resp.body, -1) {
		fields.Set(f[1], html.UnescapeString(f[2]))
	}
	if fields.Get("SAMLResponse") == "" {
		t.Fatalf("no SAMLResponse in the form:\n%s", resp.body)
	}
	origin := resp.url.Scheme + "://" + resp.url.Host
	return get("POST", action, fields, origin), get
}

// TestDemoCMSServiceProvider runs `cnsgate demo` and logs in to the CMS,
// crewjam's samlsp, with the operator card (identity and roles shown,
// then "Esci") and with the citizen card (refused, no session).
func TestDemoCMSServiceProvider(t *testing.T) {
	d := startDemo(t)
	if !strings.Contains(d.stdout.String(), demo.CMSName) {
		t.Fatalf("banner does not name the CMS:\n%s", d.stdout.String())
	}
	cmsURL := d.setup.CMS.BaseURL

	op, _ := d.setup.Card("operator")
	account, get := d.loginAtCMS(t, "operator")
	if account.code != 200 || account.url.String() != cmsURL+"/" {
		t.Fatalf("operator login ended at %s (%d):\n%s\n%s", account.url, account.code, account.body, d.stderr.String())
	}
	mustContain(t, account, "Area operatori", op.FiscalCode, "Laura Bianchi", "Ruoli", "<li>operatore_asl</li>", "Esci")
	// The welcome page at cnsgate lists the CMS under "Servizi attivi".
	mustContain(t, get("GET", d.cfg.Issuer+"/", nil, ""), "Servizi attivi", `href="`+cmsURL+`/"`, demo.CMSName)
	// "Esci": local logout, with a link to cnsgate's.
	out := get("POST", cmsURL+"/logout", url.Values{}, cmsURL)
	mustContain(t, out, "Hai chiuso la sessione", `href="`+d.cfg.Issuer+`/logout"`)
	mustContain(t, get("GET", cmsURL+"/", nil, ""), "Accedi con TS/CNS")
	// A logout posted from another origin is refused.
	if p := get("POST", cmsURL+"/logout", url.Values{}, d.cfg.Issuer); p.code != 403 {
		t.Fatalf("cross-origin logout: %d", p.code)
	}
	// Then "Esci" at cnsgate, as the CMS's page links it: the CMS lists
	// no SingleLogoutService, so no front-channel logout sends the browser
	// there; the logout ends at cnsgate's page.
	confirm := get("GET", d.cfg.Issuer+"/logout", nil, "")
	mustContain(t, confirm, "Vuoi uscire?")
	mustContain(t, get("POST", d.cfg.Issuer+"/logout", url.Values{"csrf": {field(t, csrfFieldRE, confirm)}}, d.cfg.Issuer), "Hai chiuso la sessione", "rimuovi la tessera")

	// A citizen is refused by cnsgate itself, before any assertion
	// (TestOperatorsEndToEnd), and gets no CMS session.
	_, get = d.refusedAtCMS(t, "citizen")
	home := get("GET", cmsURL+"/", nil, "")
	mustContain(t, home, "Accedi con TS/CNS")
	if strings.Contains(home.body, "Area operatori") {
		t.Fatal("the refused citizen got a session")
	}

	if code := d.stop(); code != 0 {
		t.Fatalf("Ctrl-C: exit %d\n%s", code, d.stderr.String())
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(cmsURL, "https://")); err == nil {
		t.Fatal("the CMS still listens after Ctrl-C")
	}
}
