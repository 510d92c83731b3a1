package saml

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/cnsgate/cnsgate/internal/docsnippet"
	"github.com/cnsgate/cnsgate/sessions"
)

// requireMellon fails (in CI) or skips, saying how to install them, when
// Apache or mod_auth_mellon is missing.
func requireMellon(t *testing.T) {
	t.Helper()
	for _, f := range []string{apacheBinary, filepath.Join(apacheMods, "mod_auth_mellon.so")} {
		if _, err := os.Stat(f); err != nil {
			msg := "Apache with mod_auth_mellon is missing: apt-get install -y apache2 libapache2-mod-auth-mellon (scripts/test-setup.sh does it)"
			if os.Getenv("CI") != "" {
				t.Fatalf("%s: %v", msg, err)
			}
			t.Skip(msg)
		}
	}
}

var mellonSPMetadata = template.Must(template.New("md").Parse(`<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{{.Base}}/mellon/metadata">
<SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{{.Cert}}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>
<KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{{.Cert}}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>
<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{{.Base}}/mellon/logout"/>
<NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</NameIDFormat>
<AssertionConsumerService index="0" isDefault="true" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{{.Base}}/mellon/postResponse"/>
</SPSSODescriptor>
</EntityDescriptor>
`))

// docsMellonConfig is the mod_auth_mellon block of
// docs/saml-attributes.md, as an operator would paste it, with its paths
// and entity id replaced by the test's.
func docsMellonConfig(t *testing.T, replace ...string) string {
	t.Helper()
	block := docsnippet.Block(t, "saml-attributes.md", "mod_auth_mellon")
	if !strings.Contains(block, "MellonSetEnvNoPrefix FISCAL_NUMBER urn:oid:2.5.4.5") {
		t.Fatalf("the mod_auth_mellon block of docs/saml-attributes.md has no oid attribute map")
	}
	r := strings.NewReplacer(replace...)
	return r.Replace(block)
}

// mellonSP is an Apache on loopback with mod_auth_mellon configured as
// docs/saml-attributes.md says, the IdP metadata saved to a file, and a
// CGI page under /private that prints what mellon exports.
type mellonSP struct {
	*apacheSP
	cfg ServiceProvider
}

func newMellonSP(t *testing.T, h *harness) *mellonSP {
	m := &mellonSP{apacheSP: newApacheSP(t, "mellon", mellonSPMetadata)}
	m.cfg = ServiceProvider{EntityID: m.base + "/mellon/metadata", MetadataFile: filepath.Join(m.dir, "sp-metadata.xml"),
		AttributeProfile: ProfileOID, NameIDFormat: NameIDPersistent, RequireSignedRequests: true}
	return m
}

// start saves the IdP's metadata to a file, as an operator does for
// mellon, and starts Apache; the test's end stops it.
func (m *mellonSP) start(t *testing.T, h *harness) {
	resp, err := h.client().Get(h.public.URL + PathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	m.write(t, "cnsgate-metadata.xml", []byte(readPage(t, resp).body))
	mellon := docsMellonConfig(t,
		"https://cms.example.it/mellon/metadata", m.cfg.EntityID,
		"/etc/apache2/mellon/", m.dir+"/",
	)
	startApache(t, m.dir, m.base, []string{"auth_mellon"}, mellon+
		"<Location />\n    MellonSPMetadataFile "+m.dir+"/sp-metadata.xml\n</Location>\n", "/mellon/metadata")
}

// TestMellonServiceProvider is mod_auth_mellon 0.18 in an Apache of its
// own, set up with the block of docs/saml-attributes.md as pasted and
// cnsgate's metadata saved to a file: a signed AuthnRequest (RSA-SHA256)
// through the card login, the oid attributes read through the documented
// MellonSetEnvNoPrefix names, then mellon's own logout, whose signed
// LogoutRequest ends the cnsgate session at once.
func TestMellonServiceProvider(t *testing.T) {
	requireMellon(t)
	h := newHarness(t)
	m := newMellonSP(t, h)
	h.start([]ServiceProvider{m.cfg})
	m.start(t, h)
	br := h.browser(h.citizen(citizenCF))

	login := br.get(m.base + "/private/env")
	action, form := br.cardLogin(login).must(t, 200).form(t)
	if action != m.base+"/mellon/postResponse" {
		t.Fatalf("Response posted to %s", action)
	}
	env := br.post(action, form, h.public.URL).must(t, 200)
	for _, want := range []string{
		"FISCAL_NUMBER=TINIT-" + citizenCF, "GIVEN_NAME=MARIO", "FAMILY_NAME=ROSSI", "REGION=Toscana", "REMOTE_USER=",
	} {
		if !strings.Contains(env.body, want) {
			t.Fatalf("mellon exports no %q:\n%s", want, env.body)
		}
	}
	if strings.Contains(env.body, "REMOTE_USER="+citizenCF) {
		t.Fatal("the NameID is the fiscal code")
	}

	// mellon's logout: its signed LogoutRequest ends the cnsgate session
	// at once and mellon gets the LogoutResponse.
	cookie := br.cookie()
	done := br.get(m.base + "/mellon/logout?ReturnTo=" + m.base + "/loggedout.html")
	if done.url.String() != m.base+"/loggedout.html" || !strings.Contains(done.body, "logged out of mellon") {
		t.Fatalf("mellon logout ended at %s (%d):\n%s", done.url, done.status, done.body)
	}
	if _, err := h.store.Get(context.Background(), cookie.Value); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("cnsgate session after mellon's LogoutRequest: %v", err)
	}
	// And a new visit needs the card again.
	br.get(m.base+"/private/env").must(t, 200, "Accedi con TS/CNS")
}
