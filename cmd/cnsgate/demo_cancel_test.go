package main

import (
	"encoding/base64"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/demo"
)

var hrefCancelRE = regexp.MustCompile(`href="([^"]*/cns/cancel\?req=[^"]+)">Annulla e torna al servizio</a>`)

// TestDemoCancelAtEsenzioni: "Annulla e torna al servizio" on cnsgate's
// login page answers Esenzioni's authorization request with access_denied
// (its state, cnsgate's iss) at its redirect URI, where Esenzioni refuses
// the login; the request is spent, so the link cannot be used twice.
func TestDemoCancelAtEsenzioni(t *testing.T) {
	d := startDemo(t)
	b := d.browser(t, "citizen")
	fetch(t, b, "GET", d.rpURL+"/", nil, "")
	gate := fetch(t, b, "GET", d.rpURL+"/login", nil, "")
	cancel := field(t, hrefCancelRE, gate)
	// Another browser (no login cookie of this request) cannot cancel it.
	if other := fetch(t, d.browser(t, "citizen"), "GET", cancel, nil, ""); other.code != 400 {
		t.Fatalf("another browser cancelled the request: %d %s", other.code, other.url)
	}
	back := fetch(t, b, "GET", cancel, nil, "")
	q := back.url.Query()
	if !strings.HasPrefix(back.url.String(), d.rpURL+"/") || q.Get("error") != "access_denied" || q.Get("state") == "" || q.Get("iss") != d.cfg.Issuer {
		t.Fatalf("cancel ended at %s (%d), want Esenzioni's redirect URI with access_denied, state and iss:\n%s", back.url, back.code, back.body)
	}
	if back.code != 403 || !strings.Contains(d.stderr.String(), "provider answered access_denied") {
		t.Fatalf("Esenzioni answered %d to the refusal:\n%s\n%s", back.code, back.body, d.stderr.String())
	}
	again := fetch(t, b, "GET", cancel, nil, "")
	if again.code != 400 {
		t.Fatalf("a spent request cancelled again: %d\n%s", again.code, again.body)
	}
	mustContain(t, again, "non può più essere annullata")
	// Counted once, as the citizen's own refusal.
	metrics := fetch(t, b, "GET", "http://"+d.cfg.Listen.Admin+"/metrics", nil, "")
	mustContain(t, metrics, `cnsgate_access_denied_total{client="esenzioni",reason="cancelled"} 1`)
}

// TestDemoCancelAtCMS: the same "Annulla" from the CMS's SAML login posts
// a signed Response of status Responder/RequestDenied, without assertion,
// to the CMS's ACS with its RelayState; samlsp refuses the login.
func TestDemoCancelAtCMS(t *testing.T) {
	d := startDemo(t)
	b := d.browser(t, "operator")
	cmsURL := d.setup.CMS.BaseURL
	gate := fetch(t, b, "GET", cmsURL+"/login", nil, "")
	resp := fetch(t, b, "GET", html.UnescapeString(field(t, hrefCancelRE, gate)), nil, "")
	m := samlFormRE.FindStringSubmatch(resp.body)
	if m == nil || html.UnescapeString(m[1]) != cmsURL+demo.CMSACSPath {
		t.Fatalf("%s (%d): no SAML form to the CMS's ACS:\n%s", resp.url, resp.code, resp.body)
	}
	fields := url.Values{}
	for _, f := range samlHiddenRE.FindAllStringSubmatch(resp.body, -1) {
		fields.Set(f[1], html.UnescapeString(f[2]))
	}
	xml := decodeSAML(t, fields.Get("SAMLResponse"))
	for _, want := range []string{"urn:oasis:names:tc:SAML:2.0:status:Responder", "urn:oasis:names:tc:SAML:2.0:status:RequestDenied", "<ds:Signature"} {
		if !strings.Contains(xml, want) {
			t.Fatalf("the Response lacks %s:\n%s", want, xml)
		}
	}
	if strings.Contains(xml, "Assertion") || fields.Get("RelayState") == "" {
		t.Fatalf("the Response carries an assertion or no RelayState (%q):\n%s", fields.Get("RelayState"), xml)
	}
	at := fetch(t, b, "POST", cmsURL+demo.CMSACSPath, fields, d.cfg.Issuer)
	if at.code != 403 {
		t.Fatalf("the CMS answered %d to RequestDenied:\n%s", at.code, at.body)
	}
	mustContain(t, at, "Accesso non riuscito")
}

// decodeSAML is the XML of a base64 HTTP-POST SAML message.
func decodeSAML(t *testing.T, v string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		t.Fatalf("SAML message not base64: %v", err)
	}
	return string(raw)
}
