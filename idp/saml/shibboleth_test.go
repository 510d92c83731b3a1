package saml

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/cnsgate/cnsgate/internal/apachetest"
	"github.com/cnsgate/cnsgate/internal/docsnippet"
	"github.com/cnsgate/cnsgate/sessions"
)

const (
	shibdBinary = "/usr/sbin/shibd"
	shibStock   = "/etc/shibboleth" // Debian's stock configuration
)

// requireShibboleth fails (in CI) or skips, saying how to install them,
// when Apache, mod_shib or shibd is missing.
func requireShibboleth(t *testing.T) {
	t.Helper()
	for _, f := range []string{apacheBinary, shibdBinary, filepath.Join(apacheMods, "mod_shib.so"), filepath.Join(shibStock, "attribute-map.xml")} {
		if _, err := os.Stat(f); err != nil {
			msg := "Shibboleth SP is missing: apt-get install -y apache2 libapache2-mod-shib (scripts/test-setup.sh does it)"
			if os.Getenv("CI") != "" {
				t.Fatalf("%s: %v", msg, err)
			}
			t.Skip(msg)
		}
	}
}

var shibSPMetadata = template.Must(template.New("md").Parse(`<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{{.Base}}/shibboleth">
<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{{.Cert}}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>
<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{{.Base}}/Shibboleth.sso/SLO/Redirect"/>
<AssertionConsumerService index="1" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{{.Base}}/Shibboleth.sso/SAML2/POST"/>
</SPSSODescriptor>
</EntityDescriptor>
`))

var shibConfig = template.Must(template.New("shibboleth2").Parse(`<SPConfig xmlns="urn:mace:shibboleth:3.0:native:sp:config"
    xmlns:conf="urn:mace:shibboleth:3.0:native:sp:config" clockSkew="180">
    <UnixListener address="{{.Dir}}/shibd.sock"/>
    <ApplicationDefaults entityID="{{.Base}}/shibboleth" REMOTE_USER="persistent-id">
        <Sessions lifetime="28800" timeout="3600" relayState="ss:mem" checkAddress="false"
            handlerSSL="false" cookieProps="http" redirectLimit="exact">
            <SSO entityID="{{.IdP}}">SAML2</SSO>
            <Logout>SAML2 Local</Logout>
            <Handler type="MetadataGenerator" Location="/Metadata" signing="false"/>
            <Handler type="Status" Location="/Status" acl="127.0.0.1 ::1"/>
        </Sessions>
        <Errors supportContact="root@localhost" styleSheet="/shibboleth-sp/main.css"/>
        <MetadataProvider type="XML" validate="true" path="{{.Dir}}/cnsgate-metadata.xml"/>
        <AttributeExtractor type="XML" validate="true" reloadChanges="false" path="{{.Dir}}/attribute-map.xml"/>
        <AttributeFilter type="XML" validate="true" path="{{.Dir}}/attribute-policy.xml"/>
        <CredentialResolver type="File" key="{{.Dir}}/sp.key" certificate="{{.Dir}}/sp.crt"/>
    </ApplicationDefaults>
    <SecurityPolicyProvider type="XML" validate="true" path="{{.Dir}}/security-policy.xml"/>
    <ProtocolProvider type="XML" validate="true" reloadChanges="false" path="{{.Dir}}/protocols.xml"/>
</SPConfig>
`))

// docsShibbolethOIDMap is the oid-profile attribute-map.xml block of
// docs/saml-attributes.md, as an operator would paste it.
func docsShibbolethOIDMap(t *testing.T) string {
	t.Helper()
	block := docsnippet.Block(t, "saml-attributes.md", "shibboleth oid attribute-map")
	if !strings.Contains(block, `name="urn:oid:2.5.4.5"`) {
		t.Fatal("the oid attribute-map.xml block of docs/saml-attributes.md has no urn:oid:2.5.4.5")
	}
	return block
}

// shibSP is Shibboleth SP 3 (shibd and mod_shib in an Apache of its own)
// with Debian's stock attribute-map.xml plus the entries of
// docs/saml-attributes.md, and cnsgate's metadata saved to a file.
type shibSP struct {
	*apacheSP
	cfg ServiceProvider
}

func newShibSP(t *testing.T) *shibSP {
	s := &shibSP{apacheSP: newApacheSP(t, "shibboleth", shibSPMetadata)}
	// Debian's stock files, the attribute map with the documented
	// entries pasted in.
	for _, f := range []string{"attribute-policy.xml", "security-policy.xml", "protocols.xml"} {
		data, err := os.ReadFile(filepath.Join(shibStock, f))
		if err != nil {
			t.Fatal(err)
		}
		s.write(t, f, data)
	}
	stock, err := os.ReadFile(filepath.Join(shibStock, "attribute-map.xml"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(stock, []byte("</Attributes>"))
	if i < 0 {
		t.Fatal("stock attribute-map.xml has no </Attributes>")
	}
	s.write(t, "attribute-map.xml", []byte(string(stock[:i])+docsShibbolethOIDMap(t)+string(stock[i:])))
	s.cfg = ServiceProvider{EntityID: s.base + "/shibboleth", MetadataFile: filepath.Join(s.dir, "sp-metadata.xml"),
		AttributeProfile: ProfileOID, NameIDFormat: NameIDPersistent, RequireSignedRequests: true}
	return s
}

// start saves cnsgate's metadata to a file and starts shibd and Apache.
func (s *shibSP) start(t *testing.T, h *harness) {
	resp, err := h.client().Get(h.public.URL + PathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	s.write(t, "cnsgate-metadata.xml", []byte(readPage(t, resp).body))
	var conf bytes.Buffer
	if err := shibConfig.Execute(&conf, map[string]string{"Dir": s.dir, "Base": s.base, "IdP": h.idp.EntityID()}); err != nil {
		t.Fatal(err)
	}
	s.write(t, "shibboleth2.xml", conf.Bytes())
	shibd := exec.Command(shibdBinary, "-F", "-f", "-c", filepath.Join(s.dir, "shibboleth2.xml"), "-p", filepath.Join(s.dir, "shibd.pid"))
	proc := apachetest.StartProcess(t, "shibd", shibd, nil)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if fi, err := os.Stat(filepath.Join(s.dir, "shibd.sock")); err == nil && fi.Mode()&os.ModeSocket != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shibd did not start:\n%s", proc.Output())
		}
	}
	startApache(t, s.dir, s.base, []string{"shib"}, fmt.Sprintf(`ShibConfig %s/shibboleth2.xml
ShibCompatValidUser Off
<Location /Shibboleth.sso>
    SetHandler shib
</Location>
<Location /private>
    AuthType shibboleth
    ShibRequestSetting requireSession 1
    Require shib-session
</Location>
`, s.dir), "/loggedout.html")
}

// TestShibbolethServiceProvider is Shibboleth SP 3.4 (Debian's shibd and
// mod_shib) with cnsgate's metadata saved to a file (path=) and Debian's
// stock attribute-map.xml plus the oid entries of docs/saml-attributes.md
// as pasted: a login through the card gives the application the fiscal
// code, names and region; Shibboleth's logout (it drops its own session
// first) ends the cnsgate session at once.
func TestShibbolethServiceProvider(t *testing.T) {
	requireShibboleth(t)
	h := newHarness(t)
	s := newShibSP(t)
	h.start([]ServiceProvider{s.cfg})
	s.start(t, h)
	br := h.browser(h.citizen(citizenCF))

	login := br.get(s.base + "/private/env")
	action, form := br.cardLogin(login).must(t, 200).form(t)
	if action != s.base+"/Shibboleth.sso/SAML2/POST" {
		t.Fatalf("Response posted to %s", action)
	}
	env := br.post(action, form, h.public.URL).must(t, 200)
	for _, want := range []string{
		"fiscalNumber=TINIT-" + citizenCF, "givenName=MARIO", "sn=ROSSI", "region=Toscana", "REMOTE_USER=",
	} {
		if !strings.Contains(env.body, want) {
			t.Fatalf("Shibboleth gives the application no %q:\n%s", want, env.body)
		}
	}

	cookie := br.cookie()
	done := br.get(s.base + "/Shibboleth.sso/Logout?return=" + s.base + "/loggedout.html")
	if done.url.String() != s.base+"/loggedout.html" || !strings.Contains(done.body, "logged out of shibboleth") {
		t.Fatalf("Shibboleth logout ended at %s (%d):\n%s", done.url, done.status, done.body)
	}
	if _, err := h.store.Get(context.Background(), cookie.Value); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("cnsgate session after Shibboleth's LogoutRequest: %v", err)
	}
	br.get(s.base+"/private/env").must(t, 200, "Accedi con TS/CNS")
}
