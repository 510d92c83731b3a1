package saml

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strconv"
	"testing"
	"text/template"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
)

func init() {
	// The test SPs decrypt AES-256-GCM with the identity provider's own
	// implementation; crewjam registers only its (broken) AES-128-GCM.
	xmlenc.RegisterDecrypter(gcm{keySize: 32, alg: algAES256GCM})
}

// endpoint is a metadata endpoint of a test SP.
type endpoint struct{ Binding, Location string }

type spOptions struct {
	signedMeta    bool // AuthnRequestsSigned="true" in the metadata
	requireSigned bool // require_signed_requests in the configuration
	encrypt       bool // publish an encryption key
	encMethods    []string
	slo           []endpoint
	profile       AttributeProfile
	nameID        NameIDFormat
	acs           []string // HTTP-POST ACS locations; default https://<name>.example/acs
	noSigningKey  bool
}

// testSP is a service provider the tests drive by hand: its own key, its
// metadata file, and helpers that craft, sign and encode requests.
type testSP struct {
	h        *harness
	entityID string
	key      *rsa.PrivateKey
	cert     *x509.Certificate
	acs      string
	cfg      ServiceProvider
	metadata []byte
}

var spMetadataTmpl = template.Must(template.New("md").Parse(`<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{{.EntityID}}">
<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="{{.Signed}}" WantAssertionsSigned="true">
{{- if .SigningCert}}
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{{.SigningCert}}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>{{end}}
{{- if .EncCert}}
<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{{.EncCert}}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>{{range .EncMethods}}<md:EncryptionMethod Algorithm="{{.}}"/>{{end}}</md:KeyDescriptor>{{end}}
{{- range .SLO}}
<md:SingleLogoutService Binding="{{.Binding}}" Location="{{.Location}}"/>{{end}}
<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
{{- range $i, $a := .ACS}}
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{{$a}}" index="{{$i}}"{{if eq $i 0}} isDefault="true"{{end}}/>{{end}}
</md:SPSSODescriptor>
</md:EntityDescriptor>
`))

// newSP makes a test SP named name (entity id https://<name>.example/sp)
// and writes its metadata file.
func (h *harness) newSP(name string, o spOptions) *testSP {
	h.t.Helper()
	sp := &testSP{h: h, entityID: "https://" + name + ".example/sp", key: cnstest.MustKey(2048)}
	sp.cert = selfSigned(h.t, sp.key, name)
	if len(o.acs) == 0 {
		o.acs = []string{"https://" + name + ".example/acs"}
	}
	sp.acs = o.acs[0]
	b64 := base64.StdEncoding.EncodeToString(sp.cert.Raw)
	data := map[string]any{"EntityID": sp.entityID, "Signed": o.signedMeta, "SLO": o.slo, "ACS": o.acs, "EncMethods": o.encMethods}
	if !o.noSigningKey {
		data["SigningCert"] = b64
	}
	if o.encrypt {
		data["EncCert"] = b64
	}
	var buf bytes.Buffer
	if err := spMetadataTmpl.Execute(&buf, data); err != nil {
		h.t.Fatal(err)
	}
	sp.metadata = buf.Bytes()
	sp.cfg = ServiceProvider{
		EntityID: sp.entityID, MetadataFile: h.writeFile(name+".xml", sp.metadata),
		AttributeProfile: o.profile, NameIDFormat: o.nameID, RequireSignedRequests: o.requireSigned,
	}
	if sp.cfg.AttributeProfile == "" {
		sp.cfg.AttributeProfile = ProfileSPID
	}
	if sp.cfg.NameIDFormat == "" {
		sp.cfg.NameIDFormat = NameIDPersistent
	}
	return sp
}

// keys is the SP's signing key with method.
func (sp *testSP) keys(method string) *keyPair {
	return &keyPair{signer: sp.key, cert: sp.cert, method: method}
}

// authnOpts shape a crafted AuthnRequest; zero values give a valid one.
type authnOpts struct {
	id, issuer, dest, acsURL string // dest "-" omits Destination; acsURL "-" omits it
	acsIndex                 *int
	instant                  time.Time
	force, passive           bool
	nameIDFormat             string
	classRefs                []string
	comparison               string
	root                     string // element name, default AuthnRequest
}

func (sp *testSP) authnRequest(o authnOpts) *etree.Element {
	if o.id == "" {
		o.id = "_" + randomHex(sp.h.t)
	}
	if o.issuer == "" {
		o.issuer = sp.entityID
	}
	if o.instant.IsZero() {
		o.instant = time.Now()
	}
	if o.root == "" {
		o.root = "AuthnRequest"
	}
	el := etree.NewElement("samlp:" + o.root)
	el.CreateAttr("xmlns:samlp", nsProtocol)
	el.CreateAttr("xmlns:saml", nsAssertion)
	el.CreateAttr("ID", o.id)
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", o.instant.UTC().Format(time.RFC3339))
	switch o.dest {
	case "":
		el.CreateAttr("Destination", sp.h.public.URL+PathSSO)
	case "-":
	default:
		el.CreateAttr("Destination", o.dest)
	}
	switch {
	case o.acsIndex != nil:
		el.CreateAttr("AssertionConsumerServiceIndex", strconv.Itoa(*o.acsIndex))
	case o.acsURL == "":
		el.CreateAttr("AssertionConsumerServiceURL", sp.acs)
	case o.acsURL != "-":
		el.CreateAttr("AssertionConsumerServiceURL", o.acsURL)
	}
	el.CreateAttr("ProtocolBinding", crewjam.HTTPPostBinding)
	if o.force {
		el.CreateAttr("ForceAuthn", "true")
	}
	if o.passive {
		el.CreateAttr("IsPassive", "true")
	}
	el.CreateElement("saml:Issuer").SetText(o.issuer)
	if o.nameIDFormat != "" {
		el.CreateElement("samlp:NameIDPolicy").CreateAttr("Format", o.nameIDFormat)
	}
	if len(o.classRefs) > 0 {
		rac := el.CreateElement("samlp:RequestedAuthnContext")
		if o.comparison != "" {
			rac.CreateAttr("Comparison", o.comparison)
		}
		for _, c := range o.classRefs {
			rac.CreateElement("saml:AuthnContextClassRef").SetText(c)
		}
	}
	return el
}

func randomHex(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func mustXML(t testing.TB, el *etree.Element) []byte {
	t.Helper()
	b, err := xmlBytes(el)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signXML signs el in place with the SP's key (enveloped, after Issuer).
func (sp *testSP) signXML(el *etree.Element, method string) *etree.Element {
	sp.h.t.Helper()
	if err := sp.keys(method).sign(el); err != nil {
		sp.h.t.Fatal(err)
	}
	return el
}

// redirect returns the Redirect-binding URL of el at path, its query signed
// with method unless method is "".
func (sp *testSP) redirect(path string, el *etree.Element, relayState, method string) string {
	sp.h.t.Helper()
	var k *keyPair
	if method != "" {
		k = sp.keys(method)
	}
	return sp.redirectWith(k, path, paramRequest, el, relayState)
}

// redirectParam is redirect for a message carried as param
// (paramResponse for a LogoutResponse).
func (sp *testSP) redirectParam(path, param string, el *etree.Element, relayState, method string) string {
	sp.h.t.Helper()
	var k *keyPair
	if method != "" {
		k = sp.keys(method)
	}
	return sp.redirectWith(k, path, param, el, relayState)
}

func (sp *testSP) redirectWith(k *keyPair, path, param string, el *etree.Element, relayState string) string {
	sp.h.t.Helper()
	q, err := redirectQuery(k, param, mustXML(sp.h.t, el), relayState)
	if err != nil {
		sp.h.t.Fatal(err)
	}
	return sp.h.public.URL + path + "?" + q
}

// postValues is the POST-binding form of el.
func postValues(t testing.TB, el *etree.Element, relayState string) url.Values {
	return postParam(t, paramRequest, el, relayState)
}

// postParam is the POST-binding form of el carried as param.
func postParam(t testing.TB, param string, el *etree.Element, relayState string) url.Values {
	v := url.Values{param: {base64.StdEncoding.EncodeToString(mustXML(t, el))}}
	if relayState != "" {
		v.Set("RelayState", relayState)
	}
	return v
}
