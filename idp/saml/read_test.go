package saml

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"net/url"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"
	dsig "github.com/russellhaering/goxmldsig"
)

// result is a Response as the SP reads it, every signature checked with
// the IdP's certificate.
type result struct {
	response  crewjam.Response
	assertion *crewjam.Assertion // nil for a status response
	encrypted bool
	raw       []byte // the Response as posted
	cipher    string // EncryptionMethod of an encrypted assertion
}

// read checks and reads the SAMLResponse a form page carries to the SP.
func (sp *testSP) read(form url.Values) *result {
	t := sp.h.t
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(form.Get(paramResponse))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := verifyByIdP(sp.h.idpCert, raw)
	if err != nil {
		t.Fatalf("Response signature: %v", err)
	}
	res := &result{raw: raw}
	if err := xml.Unmarshal(signed, &res.response); err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(signed); err != nil {
		t.Fatal(err)
	}
	var assertionXML []byte
	if ea := doc.Root().FindElement("./EncryptedAssertion/EncryptedData"); ea != nil {
		res.encrypted = true
		res.cipher = ea.FindElement("./EncryptionMethod").SelectAttrValue("Algorithm", "")
		if assertionXML, err = xmlenc.Decrypt(sp.key, ea); err != nil {
			t.Fatalf("decrypting the assertion: %v", err)
		}
	} else if a := doc.Root().FindElement("./Assertion"); a != nil {
		assertionXML = mustXML(t, detach(a))
	}
	if assertionXML == nil {
		return res
	}
	signedA, err := verifyByIdP(sp.h.idpCert, assertionXML)
	if err != nil {
		t.Fatalf("Assertion signature: %v", err)
	}
	res.assertion = &crewjam.Assertion{}
	if err := xml.Unmarshal(signedA, res.assertion); err != nil {
		t.Fatal(err)
	}
	return res
}

// verifyByIdP checks the signature of the root element of raw with
// goxmldsig alone (not the code under test) and returns the signed
// content.
func verifyByIdP(cert *x509.Certificate, raw []byte) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, err
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	el, err := vc.Validate(doc.Root())
	if err != nil {
		return nil, err
	}
	return xmlBytes(el)
}

// attrs returns the assertion's attributes by name.
func (r *result) attrs() map[string][]string {
	out := map[string][]string{}
	for _, st := range r.assertion.AttributeStatements {
		for _, a := range st.Attributes {
			for _, v := range a.Values {
				out[a.Name] = append(out[a.Name], v.Value)
			}
		}
	}
	return out
}

func (r *result) status() string {
	s := r.response.Status.StatusCode
	if s.StatusCode != nil {
		return s.StatusCode.Value
	}
	return s.Value
}
