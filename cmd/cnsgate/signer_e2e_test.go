package main

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/cnsgate/cnsgate/idp/signer"
	"github.com/cnsgate/cnsgate/internal/softhsm"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	softhsm.Cleanup()
	os.Exit(code)
}

const testSPEntity = "https://sp.example/saml"

// pkcs11YAML is the pkcs11 option of a key in tok labelled label, at the
// given indent.
func pkcs11YAML(tok *softhsm.Token, pinFile, label, indent string) string {
	return fmt.Sprintf("%smodule: %s\n%stoken_label: %s\n%spin_file: %s\n%skey_label: %s\n",
		indent, tok.Module, indent, tok.Label, indent, pinFile, indent, label)
}

// hsmKey opens the key labelled label in tok, as serve will.
func hsmKey(t *testing.T, tok *softhsm.Token, label string) signer.Signer {
	t.Helper()
	k, err := signer.Open(signer.Spec{PKCS11: &signer.PKCS11Spec{Module: tok.Module, TokenLabel: tok.Label, PinFile: tok.PinFile, KeyLabel: label}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// selfSigned writes a self-signed certificate of key (signed by key: in
// the token for an HSM key) to a file of dir.
func selfSigned(t *testing.T, dir, name string, key crypto.Signer) (string, *x509.Certificate) {
	t.Helper()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "cnsgate SAML " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	f := filepath.Join(dir, name+".crt")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return f, cert
}

// spMetadataFile writes the metadata of a service provider that posts to
// https://sp.example/acs and does not sign its requests.
func spMetadataFile(t *testing.T, dir string) string {
	t.Helper()
	f := filepath.Join(dir, "sp.xml")
	md := `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + testSPEntity + `">` +
		`<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="0"/>` +
		`</md:SPSSODescriptor></md:EntityDescriptor>`
	if err := os.WriteFile(f, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// relyingPartyContext is a context whose HTTP client trusts the test
// server's TLS CA, for go-oidc.
func (s *testServer) relyingPartyContext(t *testing.T) context.Context {
	t.Helper()
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(s.setup.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return gooidc.ClientContext(context.Background(), c)
}

// verifyIDToken verifies raw as go-oidc does from discovery and a fresh
// fetch of /jwks, and returns the kid that signed it.
func (s *testServer) verifyIDToken(t *testing.T, raw string) (string, error) {
	t.Helper()
	ctx := s.relyingPartyContext(t)
	p, err := gooidc.NewProvider(ctx, s.cfg.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Verifier(&gooidc.Config{ClientID: "esenzioni", SupportedSigningAlgs: []string{"RS256", "PS256", "ES256"}}).Verify(ctx, raw)
	return jwsKid(t, raw), err
}

// jwsKid reads the kid of a compact JWS's protected header.
func jwsKid(t *testing.T, raw string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct{ Kid string }
	_ = json.Unmarshal(h, &hdr)
	return hdr.Kid
}

// jwksKids returns the kids /jwks publishes now.
func (s *testServer) jwksKids(t *testing.T) []string {
	t.Helper()
	resp, err := s.client(t, nil, nil).Get(s.cfg.Issuer + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []struct{ Kid string } }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func thumbprint(t *testing.T, k crypto.Signer) string {
	t.Helper()
	kid, err := signer.Thumbprint(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

// TestServeSignsWithHSMKeys: serve keeps its OIDC keys (RSA and EC P-256)
// and its SAML key in a SoftHSM2 token. The ID token (RS256) verifies
// with go-oidc from discovery and /jwks under the HSM RSA key's kid, the
// signed userinfo (ES256) under the HSM EC key's; the SAML metadata
// publishes the active and the next signing certificate (two
// KeyDescriptor use="signing"), and xmlsec1 verifies a SAML Response with
// the certificate read from that metadata.
func TestServeSignsWithHSMKeys(t *testing.T) {
	requireFile(t, "xmlsec1", "/usr/bin/xmlsec1")
	tok := softhsm.New(t)
	tok.GenerateKey(t, "rsa:2048", "e2e-oidc-rsa", "11")
	tok.GenerateKey(t, "EC:prime256v1", "e2e-oidc-ec", "12")
	tok.GenerateKey(t, "rsa:2048", "e2e-saml", "13")
	rsaKey, ecKey, samlKey := hsmKey(t, tok, "e2e-oidc-rsa"), hsmKey(t, tok, "e2e-oidc-ec"), hsmKey(t, tok, "e2e-saml")
	dir := t.TempDir()
	certFile, cert := selfSigned(t, dir, "active", samlKey)
	nextFile, next := selfSigned(t, dir, "next", cnstest.MustKey(2048))
	s := startServer(t, func(y string) string {
		return y + "login:\n  confirm_release: false\n" +
			"oidc:\n  subject_salt: " + strings.Repeat("s", 40) + "\n  keys:\n" +
			"    - pkcs11:\n" + pkcs11YAML(tok, tok.PinFile, "e2e-oidc-rsa", "        ") +
			"    - pkcs11:\n" + pkcs11YAML(tok, tok.PinFile, "e2e-oidc-ec", "        ") +
			"  clients:\n    - id: esenzioni\n      secret: a-long-enough-client-secret\n      redirect_uris: [" + testRedirect + "]\n" +
			"      userinfo_signed_response_alg: ES256\n" +
			"saml:\n  cert_file: " + certFile + "\n  next_cert_file: " + nextFile + "\n  key_pkcs11:\n" + pkcs11YAML(tok, tok.PinFile, "e2e-saml", "    ") +
			"  name_id_salt: " + strings.Repeat("n", 40) + "\n" +
			"  service_providers:\n    - entity_id: " + testSPEntity + "\n      metadata_file: " + spMetadataFile(t, dir) + "\n      require_signed_requests: false\n"
	})
	citizen, _ := s.setup.Card("citizen")
	b := s.rpBrowser(t, citizen)
	tokens := s.oidcTokens(t, b, "openid profile")
	idToken, _ := tokens["id_token"].(string)
	kid, err := s.verifyIDToken(t, idToken)
	if err != nil || kid != thumbprint(t, rsaKey) {
		t.Fatalf("the ID token (kid %s, HSM RSA key %s): %v", kid, thumbprint(t, rsaKey), err)
	}
	userinfo := s.signedUserinfo(t, b, tokens["access_token"].(string))
	ctx := s.relyingPartyContext(t)
	if _, err := gooidc.NewRemoteKeySet(ctx, s.cfg.Issuer+"/jwks").VerifySignature(ctx, userinfo); err != nil || jwsKid(t, userinfo) != thumbprint(t, ecKey) {
		t.Fatalf("the ES256 userinfo (kid %s, HSM EC key %s): %v", jwsKid(t, userinfo), thumbprint(t, ecKey), err)
	}

	metadata := string(fetch(t, b, "GET", s.cfg.Issuer+"/saml/metadata", nil, "").body)
	signing := regexp.MustCompile(`<KeyDescriptor use="signing"><KeyInfo[^>]*><X509Data><X509Certificate>([^<]+)</X509Certificate>`).FindAllStringSubmatch(metadata, -1)
	if len(signing) != 2 || signing[0][1] != base64.StdEncoding.EncodeToString(cert.Raw) || signing[1][1] != base64.StdEncoding.EncodeToString(next.Raw) {
		t.Fatalf("the metadata does not publish the active then the next certificate (%d signing KeyDescriptors):\n%s", len(signing), metadata)
	}
	der, _ := base64.StdEncoding.DecodeString(signing[0][1])
	fromMetadata := filepath.Join(dir, "from-metadata.crt")
	_ = os.WriteFile(fromMetadata, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	response := s.samlLogin(t, b)
	if err := xmlsec1Verify(t, fromMetadata, filepath.Join(dir, "response.xml"), response); err != nil {
		t.Fatalf("xmlsec1 refused the Response signed in the HSM: %v", err)
	}
	if err := xmlsec1Verify(t, nextFile, filepath.Join(dir, "response-next.xml"), response); err == nil {
		t.Fatal("the Response verified with the next certificate, which must not sign yet")
	}
}

// signedUserinfo asks /userinfo with the access token for the signed JWT.
func (s *testServer) signedUserinfo(t *testing.T, b *http.Client, accessToken string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.cfg.Issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/jwt" {
		t.Fatalf("userinfo: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return string(body)
}

var (
	e2eCardLinkRE = regexp.MustCompile(`href="([^"]+/cns/login[^"]*)"`)
	e2eResponseRE = regexp.MustCompile(`<input type="hidden" name="SAMLResponse" value="([^"]*)"`)
)

// samlLogin sends an AuthnRequest of the test SP (HTTP-Redirect), logs in
// with the card unless the browser has a session, and returns the SAML
// Response the browser would post.
func (s *testServer) samlLogin(t *testing.T, b *http.Client) []byte {
	t.Helper()
	req := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
		` ID="_e2e` + fmt.Sprint(time.Now().UnixNano()) + `" Version="2.0" IssueInstant="` + time.Now().UTC().Format(time.RFC3339) + `"` +
		` Destination="` + s.cfg.Issuer + `/saml/sso" AssertionConsumerServiceURL="https://sp.example/acs"` +
		` ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>` + testSPEntity + `</saml:Issuer></samlp:AuthnRequest>`
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	_, _ = w.Write([]byte(req))
	_ = w.Close()
	gate := fetch(t, b, "GET", s.cfg.Issuer+"/saml/sso?"+url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}}.Encode(), nil, "")
	page := gate // a browser with a session is answered at once
	if e2eResponseRE.FindStringSubmatch(gate.body) == nil {
		page = fetch(t, b, "GET", html.UnescapeString(field(t, e2eCardLinkRE, gate)), nil, "")
	}
	m := e2eResponseRE.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("%s (%d): no SAMLResponse:\n%s", page.url, page.code, page.body)
	}
	raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// xmlsec1Verify checks the Response's signature with Debian's xmlsec1 and
// the certificate of certFile.
func xmlsec1Verify(t *testing.T, certFile, docFile string, doc []byte) error {
	t.Helper()
	if err := os.WriteFile(docFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "xmlsec1", "--verify", "--pubkey-cert-pem", certFile,
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response", docFile).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("OK")) {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// TestServeSAMLNextCertOnSIGHUP: the first step of a SAML roll-over needs
// no restart: saml.next_cert_file added and SIGHUP, the metadata of the
// running serve lists the active and then the next certificate.
func TestServeSAMLNextCertOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	key := cnstest.MustKey(2048)
	certFile, cert := selfSigned(t, dir, "active", key)
	keyFile := filepath.Join(dir, "active.key")
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	nextFile, next := selfSigned(t, dir, "next", cnstest.MustKey(2048))
	var base string
	s := startServer(t, func(y string) string {
		base = y + "saml:\n  cert_file: " + certFile + "\n  key_file: " + keyFile + "\n"
		return base
	})
	signingCerts := func() []string {
		md := string(fetch(t, s.client(t, nil, nil), "GET", s.cfg.Issuer+"/saml/metadata", nil, "").body)
		var out []string
		for _, m := range regexp.MustCompile(`<KeyDescriptor use="signing"><KeyInfo[^>]*><X509Data><X509Certificate>([^<]+)</X509Certificate>`).FindAllStringSubmatch(md, -1) {
			out = append(out, m[1])
		}
		return out
	}
	b64 := base64.StdEncoding.EncodeToString
	if got := signingCerts(); len(got) != 1 || got[0] != b64(cert.Raw) {
		t.Fatalf("before: %d signing certificates", len(got))
	}
	s.sighupUntil(t, base+"  next_cert_file: "+nextFile+"\n", "saml: next signing certificate reloaded")
	if got := signingCerts(); len(got) != 2 || got[0] != b64(cert.Raw) || got[1] != b64(next.Raw) {
		t.Fatalf("after SIGHUP: %d signing certificates, want the active then the next", len(got))
	}
}
