package saml

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/internal/docsnippet"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// debianPython is the interpreter of Debian's python3-pysaml2.
const debianPython = "/usr/bin/python3"

// requirePySAML2 fails (in CI) or skips the test, saying how to install
// the peer, when Debian's pysaml2 or xmlsec1 is missing.
func requirePySAML2(t *testing.T) {
	t.Helper()
	requireTools(t, "xmlsec1")
	if err := exec.Command(debianPython, "-c", "import saml2.client").Run(); err != nil {
		msg := "pysaml2 is missing: apt-get install -y python3-pysaml2 xmlsec1 (scripts/test-setup.sh does it)"
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v", msg, err)
		}
		t.Skip(msg)
	}
}

// pySP is one pysaml2 SP (testdata/pysaml2/sp.py) and its configuration.
type pySP struct {
	*nodeSP
	entityID, base string
	cfg            ServiceProvider
}

// startPySP starts a pysaml2 SP named name whose SingleLogoutService has
// the bindings slo ("redirect", "post") and writes its metadata file.
func startPySP(t *testing.T, h *harness, name, slo string) *pySP {
	key := cnstest.MustKey(2048)
	cert := selfSigned(t, key, name)
	sp := &pySP{entityID: "https://" + name + ".example/sp", base: "https://" + name + ".example"}
	sp.nodeSP = startLineSP(t, "testdata/pysaml2", map[string]string{
		"SP_ENTITY_ID": sp.entityID, "SP_BASE": sp.base, "SP_SLO": slo,
		"SP_KEY":  h.writeFile(name+".key", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))),
		"SP_CERT": h.writeFile(name+".crt", pemBlock("CERTIFICATE", cert.Raw)),
	}, debianPython, "sp.py")
	md, _ := sp.must(map[string]any{"cmd": "metadata"})["metadata"].(string)
	if !strings.Contains(md, `AuthnRequestsSigned="true"`) {
		t.Fatalf("pysaml2 metadata:\n%s", md)
	}
	// require_signed_requests left to its default (true).
	sp.cfg = ServiceProvider{EntityID: sp.entityID, MetadataFile: h.writeFile(name+".xml", []byte(md)),
		AttributeProfile: ProfileOID, NameIDFormat: NameIDPersistent, RequireSignedRequests: true}
	return sp
}

// init gives the SP the identity provider's metadata as a running server
// publishes it.
func (sp *pySP) init(t *testing.T, h *harness) {
	resp, err := h.client().Get(h.public.URL + PathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	file := h.writeFile("idp-metadata.xml", []byte(readPage(t, resp).body))
	if idpID, _ := sp.must(map[string]any{"cmd": "init", "idp_metadata": file})["idp"].(string); idpID != h.idp.EntityID() {
		t.Fatalf("pysaml2 read the IdP as %q", idpID)
	}
}

// login runs pysaml2's signed AuthnRequest through the browser (with the
// card when card is true) and returns what pysaml2 validated.
func (sp *pySP) login(t *testing.T, br *browser, card bool) map[string]any {
	t.Helper()
	u, _ := sp.must(map[string]any{"cmd": "login"})["url"].(string)
	if q, _ := url.Parse(u); q.Query().Get("SigAlg") != "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" {
		t.Fatalf("pysaml2 AuthnRequest not signed with RSA-SHA256: %s", u)
	}
	p := br.get(u)
	if card {
		p = br.cardLogin(p)
	}
	action, form := p.must(t, 200).form(t)
	if action != sp.base+"/acs" || form.Get("RelayState") != "py-state" {
		t.Fatalf("Response posted to %s with RelayState %q", action, form.Get("RelayState"))
	}
	return sp.must(map[string]any{"cmd": "acs", "SAMLResponse": form.Get(paramResponse)})
}

// atSP hands what the browser carries to an SP endpoint to sp: a
// Redirect-binding URL or a page posting a form. It returns sp's answer.
func (sp *pySP) atSP(t *testing.T, p page, loc, cmd, param string) map[string]any {
	t.Helper()
	msg := map[string]any{"cmd": cmd}
	if p.status == http.StatusSeeOther {
		if !strings.HasPrefix(loc, sp.base+"/slo/HTTP-Redirect?") {
			t.Fatalf("sent to %q, not %s's Redirect SingleLogoutService", loc, sp.entityID)
		}
		u, _ := url.Parse(loc)
		msg[param], msg["RelayState"], msg["binding"] = u.Query().Get(param), u.Query().Get("RelayState"), "redirect"
	} else {
		action, form := p.must(t, 200, param).form(t)
		if action != sp.base+"/slo/HTTP-POST" {
			t.Fatalf("posted to %q, not %s's POST SingleLogoutService", action, sp.entityID)
		}
		msg[param], msg["RelayState"], msg["binding"] = form.Get(param), form.Get("RelayState"), "post"
	}
	return sp.must(msg)
}

// answer carries an SP's answer (pysaml2's http_args) back to cnsgate.
func (br *browser) answer(t *testing.T, a map[string]any) (page, string) {
	t.Helper()
	u, _ := a["url"].(string)
	if a["method"] == "GET" {
		return br.noFollow(t, get(u))
	}
	fields := url.Values{}
	for k, v := range a["fields"].(map[string]any) {
		fields.Set(k, v.(string))
	}
	return br.noFollow(t, post(u, fields))
}

// TestPySAML2ServiceProviders is the interop test with pysaml2 7.0
// (Debian), which checks every signature with xmlsec1: SSO with a signed
// AuthnRequest and an encrypted assertion, the oid attribute profile, an
// SP-initiated signed LogoutRequest that ends the session at once and
// tells the other SP by the front channel (HTTP-POST), and an IdP-initiated
// logout ("Esci") that tells both SPs through the browser (HTTP-Redirect,
// then HTTP-POST), each answer checked by cnsgate. The SPs' configuration
// is testdata/pysaml2/cnsgate_sp.py, which docs/saml-attributes.md shows
// byte for byte.
func TestPySAML2ServiceProviders(t *testing.T) {
	docsnippet.Equal(t, "saml-attributes.md", "pysaml2", "testdata/pysaml2/cnsgate_sp.py")
	requirePySAML2(t)
	h := newHarness(t)
	red := startPySP(t, h, "pyred", "redirect")
	postSP := startPySP(t, h, "pypost", "post")
	h.start([]ServiceProvider{red.cfg, postSP.cfg})
	red.init(t, h)
	postSP.init(t, h)
	br := h.browser(h.citizen(citizenCF))

	got := red.login(t, br, true)
	ava, _ := got["ava"].(map[string]any)
	if sn, _ := ava["serialNumber"].([]any); len(sn) != 1 || sn[0] != "TINIT-"+citizenCF {
		t.Fatalf("pysaml2 attributes %v", ava)
	}
	if ava["givenName"].([]any)[0] != "MARIO" || ava["sn"].([]any)[0] != "ROSSI" || got["name_id_format"] != string(crewjam.PersistentNameIDFormat) {
		t.Fatalf("pysaml2 read %v", got)
	}
	postSP.login(t, br, false) // single sign-on

	// SP-initiated: pyred's signed LogoutRequest ends the session at once.
	cookie := br.cookie()
	lo := red.must(map[string]any{"cmd": "logout"})
	p, loc := br.noFollow(t, get(lo["url"].(string)))
	if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, h.public.URL+PathSLO+"?fc=") {
		t.Fatalf("pysaml2 LogoutRequest answered %d %q:\n%s", p.status, loc, p.body)
	}
	if _, err := h.store.Get(context.Background(), cookie.Value); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("session after the signed LogoutRequest: %v", err)
	}
	p, loc = br.noFollow(t, get(loc))
	p, loc = br.answer(t, postSP.atSP(t, p, loc, "slo_request", paramRequest))
	if out := red.atSP(t, p, loc, "slo_response", paramResponse); out["status_ok"] != true {
		t.Fatalf("pysaml2 LogoutResponse: %v", out)
	}

	// IdP-initiated: "Esci" tells both through the browser.
	red.login(t, br, true)
	postSP.login(t, br, false)
	confirm := br.get(h.public.URL+"/logout").must(t, 200, "Vuoi uscire?")
	r := post(h.public.URL+"/logout", url.Values{"csrf": {confirm.csrf(t)}})
	r.Header.Set("Origin", h.public.URL)
	p, loc = br.noFollow(t, r)
	p, loc = br.noFollow(t, get(loc))
	p, loc = br.answer(t, red.atSP(t, p, loc, "slo_request", paramRequest))
	p, loc = br.answer(t, postSP.atSP(t, p, loc, "slo_request", paramRequest))
	if p.status != http.StatusSeeOther || loc != h.public.URL+"/logout" {
		t.Fatalf("end of the front-channel logout: %d %q", p.status, loc)
	}
	if okN, failedN := h.rec.note(idp.DeliverySAMLFrontChannel+"/"+ResultOK), h.rec.note(idp.DeliverySAMLFrontChannel+"/"+ResultFailed); okN != 3 || failedN != 0 {
		t.Fatalf("front-channel deliveries %d ok, %d failed; want 3 ok", okN, failedN)
	}
}
