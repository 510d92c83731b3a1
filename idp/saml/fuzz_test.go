package saml

import (
	"bytes"
	"compress/flate"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// fuzzSeeds are requests of every shape the decoders see, built without
// a running identity provider.
func fuzzSeeds(t testing.TB) (requests [][]byte, signed []byte, k *keyPair) {
	key := cnstest.MustKey(2048)
	k = &keyPair{signer: key, cert: selfSigned(t, key, "fuzz"), method: dsig.RSASHA256SignatureMethod}
	el := etree.NewElement("samlp:AuthnRequest")
	el.CreateAttr("xmlns:samlp", nsProtocol)
	el.CreateAttr("xmlns:saml", nsAssertion)
	el.CreateAttr("ID", "_abc")
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", "2026-01-01T00:00:00Z")
	el.CreateAttr("AssertionConsumerServiceIndex", "1")
	el.CreateElement("saml:Issuer").SetText("https://sp.example/sp")
	el.CreateElement("samlp:NameIDPolicy").CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
	rac := el.CreateElement("samlp:RequestedAuthnContext")
	rac.CreateAttr("Comparison", "minimum")
	rac.CreateElement("saml:AuthnContextClassRef").SetText(acrSmartcard)
	plain := mustXML(t, el)
	if err := k.sign(el); err != nil {
		t.Fatal(err)
	}
	signed = mustXML(t, el)
	logout := []byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_l" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>https://sp.example/sp</saml:Issuer><saml:NameID>x</saml:NameID><samlp:SessionIndex>s</samlp:SessionIndex></samlp:LogoutRequest>`)
	return [][]byte{plain, signed, logout, []byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`), []byte("<a><b></a>")}, signed, k
}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(b)
	fw.Close()
	return buf.Bytes()
}

// FuzzDecodeRedirect: any query string is decoded within the limits or
// refused, never a panic.
func FuzzDecodeRedirect(f *testing.F) {
	reqs, _, k := fuzzSeeds(f)
	for _, r := range reqs {
		q, _ := redirectQuery(k, paramRequest, r, "state")
		f.Add(q)
		f.Add("SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(deflate(r))))
	}
	f.Add("SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(deflate(bytes.Repeat([]byte("a"), 1<<20)))))
	f.Add("SAMLRequest=%ZZ&SAMLRequest=1&SigAlg=x")
	f.Fuzz(func(t *testing.T, q string) {
		m, err := decodeRedirect(q, paramRequest)
		if err != nil {
			return
		}
		if len(m.xml) > maxInflated || len(m.relayState) > maxRelayState {
			t.Fatalf("limits passed: %d bytes, RelayState %d", len(m.xml), len(m.relayState))
		}
		if (m.signature != nil) != (m.signedQuery != "") {
			t.Fatal("signature without the octets it covers")
		}
	})
}

// FuzzDecodePost: any form value is decoded within the limits or refused.
func FuzzDecodePost(f *testing.F) {
	reqs, _, _ := fuzzSeeds(f)
	for _, r := range reqs {
		f.Add(base64.StdEncoding.EncodeToString(r), "state")
	}
	f.Add("!!!", "")
	f.Fuzz(func(t *testing.T, v, relay string) {
		m, err := decodePostValues(url.Values{paramRequest: {v}, "RelayState": {relay}}, paramRequest)
		if err != nil {
			return
		}
		if len(v) > maxEncoded || len(m.relayState) > maxRelayState {
			t.Fatal("limits passed")
		}
	})
}

// FuzzParseAuthnRequest: the XML checks and the AuthnRequest reader never
// panic, and what they accept has what validation relies on.
func FuzzParseAuthnRequest(f *testing.F) {
	reqs, _, _ := fuzzSeeds(f)
	for _, r := range reqs {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkXML(data) != nil {
			return
		}
		x, err := parseAuthnRequestXML(data)
		if err != nil {
			return
		}
		if x.Issuer == nil || x.ID == "" || len(x.ID) > maxIDLength || x.Version != "2.0" {
			t.Fatalf("accepted %+v", x)
		}
		authnContextMet(x.RequestedAuthnContext)
	})
}

// FuzzParseLogoutRequest is FuzzParseAuthnRequest for LogoutRequests.
func FuzzParseLogoutRequest(f *testing.F) {
	reqs, _, _ := fuzzSeeds(f)
	for _, r := range reqs {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkXML(data) != nil {
			return
		}
		if x, err := parseLogoutRequestXML(data); err == nil && (x.NameID == nil || x.Issuer == nil) {
			t.Fatalf("accepted %+v", x)
		}
	})
}

// FuzzVerifyEnveloped: a mutated signed request never verifies unless it
// is the signed content itself, and never panics.
func FuzzVerifyEnveloped(f *testing.F) {
	reqs, signed, k := fuzzSeeds(f)
	for _, r := range reqs {
		f.Add(r)
	}
	certs := []*x509.Certificate{k.cert}
	now := time.Now()
	want, ok, err := verifyEnveloped(signed, certs, now, false)
	if err != nil || !ok {
		f.Fatalf("seed does not verify: %v", err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkXML(data) != nil {
			return
		}
		got, ok, err := verifyEnveloped(data, certs, now, false)
		if err == nil && ok && !bytes.Equal(got, want) {
			t.Fatalf("a different document verified:\n%s", got)
		}
	})
}

// FuzzParseSPMetadata: SP metadata from a URL is outside input too.
func FuzzParseSPMetadata(f *testing.F) {
	f.Add([]byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example/sp"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>`))
	f.Add([]byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:EntityDescriptor entityID="https://sp.example/sp"/></md:EntitiesDescriptor>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := parseSPMetadata(data, "https://sp.example/sp", nil, time.Now())
		if err == nil && (md.sso == nil || md.entity.EntityID != "https://sp.example/sp") {
			t.Fatal("accepted metadata without an SP descriptor for the entity")
		}
		if err == nil {
			md.acs(nil, "")
		}
	})
}

// FuzzCheckLogoutResponse: an SP's LogoutResponse at the end of a
// front-channel step, whatever its bytes, is accepted only when it comes
// from the SP awaited, answers the request awaited and says Success, and
// never panics.
func FuzzCheckLogoutResponse(f *testing.F) {
	const spID, reqID = "https://sp.example/sp", "_awaited"
	key := cnstest.MustKey(2048)
	cert := selfSigned(f, key, "sp")
	sp := &serviceProvider{cfg: ServiceProvider{EntityID: spID}}
	sp.meta.Store(&spMetadata{entity: &crewjam.EntityDescriptor{EntityID: spID}, signing: []*x509.Certificate{cert}})
	p := &IdP{issuer: "https://idp.example", now: time.Now,
		sps: &providers{byID: map[string]*serviceProvider{spID: sp}, deps: providerDeps{now: time.Now}}}
	ok := `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" InResponseTo="_awaited"><saml:Issuer>https://sp.example/sp</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>`
	f.Add([]byte(ok))
	f.Add([]byte(strings.Replace(ok, "_awaited", "_other", 1)))
	f.Add([]byte(strings.Replace(ok, "Success", "Requester", 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkXML(data) != nil {
			return
		}
		if p.checkLogoutResponse(&message{xml: data}, frontWait{SP: spID, ID: reqID}) != nil {
			return
		}
		var lr crewjam.LogoutResponse
		if err := xml.Unmarshal(data, &lr); err != nil || lr.InResponseTo != reqID ||
			strings.TrimSpace(lr.Issuer.Value) != spID || lr.Status.StatusCode.Value != crewjam.StatusSuccess {
			t.Fatalf("accepted %q", data)
		}
	})
}
