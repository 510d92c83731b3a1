package saml

import (
	"bytes"
	"context"
	"os/exec"
	"testing"
	"time"
)

// xmlsecVerify runs Debian's xmlsec1 --verify on doc with the identity
// provider's certificate; idAttr names the element whose ID attribute
// the reference resolves ("urn:...:protocol:Response").
func xmlsecVerify(t *testing.T, h *harness, name string, doc []byte, idAttr, xpath string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"--verify", "--pubkey-cert-pem", h.writeFile("idp-xmlsec.crt", pemBlock("CERTIFICATE", h.idpCert.Raw)),
		"--id-attr:ID", idAttr}
	if xpath != "" {
		args = append(args, "--node-xpath", xpath)
	}
	out, err := exec.CommandContext(ctx, "xmlsec1", append(args, h.writeFile(name, doc))...).CombinedOutput()
	if err != nil {
		return &xmlsecError{err: err, out: out}
	}
	if !bytes.Contains(out, []byte("OK")) {
		return &xmlsecError{out: out}
	}
	return nil
}

type xmlsecError struct {
	err error
	out []byte
}

func (e *xmlsecError) Error() string {
	if e.err != nil {
		return e.err.Error() + ": " + string(e.out)
	}
	return string(e.out)
}

// TestXMLSec1 verifies the signatures of a produced Response (the
// Response's and the assertion's) and of the metadata with xmlsec1, an
// implementation nobody here wrote; a tampered Response fails.
func TestXMLSec1(t *testing.T) {
	requireTools(t, "xmlsec1")
	h := newHarness(t)
	sp := h.newSP("cms", spOptions{})
	h.start([]ServiceProvider{sp.cfg})
	br := h.browser(h.citizen(citizenCF))
	_, form := br.cardLogin(br.get(sp.redirect(PathSSO, sp.authnRequest(authnOpts{}), "", ""))).must(t, 200).form(t)
	raw := mustB64(t, form.Get(paramResponse))
	const (
		response  = "urn:oasis:names:tc:SAML:2.0:protocol:Response"
		assertion = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
	)
	if err := xmlsecVerify(t, h, "response.xml", raw, response, ""); err != nil {
		t.Fatalf("xmlsec1 refused the Response signature: %v", err)
	}
	// The assertion's own signature, in place inside the Response.
	sigXPath := "/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']"
	if err := xmlsecVerify(t, h, "response-assertion.xml", raw, assertion, sigXPath); err != nil {
		t.Fatalf("xmlsec1 refused the assertion signature: %v", err)
	}
	// The same Response with the fiscal code changed.
	tampered := bytes.Replace(raw, []byte("TINIT-"+citizenCF), []byte("TINIT-VRDGPP80A01H501U"), 1)
	if bytes.Equal(tampered, raw) {
		t.Fatal("nothing to tamper with")
	}
	if err := xmlsecVerify(t, h, "tampered.xml", tampered, response, ""); err == nil {
		t.Fatal("xmlsec1 accepted a tampered Response")
	}
	if err := xmlsecVerify(t, h, "tampered-assertion.xml", tampered, assertion, sigXPath); err == nil {
		t.Fatal("xmlsec1 accepted a tampered assertion")
	}
	// Changing the Response outside the assertion breaks the Response
	// signature only: the XPath above does check the assertion's own.
	outer := bytes.Replace(raw, []byte(`Destination="`+sp.acs+`"`), []byte(`Destination="https://evil.example/acs"`), 1)
	if err := xmlsecVerify(t, h, "outer.xml", outer, response, ""); err == nil {
		t.Fatal("xmlsec1 accepted a tampered Response")
	}
	if err := xmlsecVerify(t, h, "outer-assertion.xml", outer, assertion, sigXPath); err != nil {
		t.Fatalf("the assertion signature should survive: %v", err)
	}

	md, err := h.idp.metadata()
	if err != nil {
		t.Fatal(err)
	}
	if err := xmlsecVerify(t, h, "metadata.xml", md, "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor", ""); err != nil {
		t.Fatalf("xmlsec1 refused the metadata signature: %v", err)
	}
}
