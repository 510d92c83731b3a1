package cnstest

import (
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
)

// TestTrustedListSignatures: a list signed by xmlsec1 verifies with
// x509cns.LoadTSL (goxmldsig), with and without an Id on the root, and a
// list signed here verifies with xmlsec1 --verify; a byte changed after
// signing is refused by both.
func TestTrustedListSignatures(t *testing.T) {
	ca, err := NewRegionalCA("Molise")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := NewTSLSigner("TSL signer")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"tsl-it", ""} {
		l := TrustedList{ID: id, Sequence: 3, Providers: []TSLProvider{{Name: "Regione Molise", Services: []TSLService{
			{Type: TSLServiceIdV, Name: "CA Cittadini", Status: TSLStatusGranted, Certs: []*x509.Certificate{ca.Cert}},
		}}}}
		dir := t.TempDir()
		byXMLSec, err := signer.SignXMLSec1(l, dir)
		if errors.Is(err, exec.ErrNotFound) {
			t.Fatal(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		rep, err := x509cns.NewTrustStore().LoadTSL(byXMLSec, x509cns.TSLOptions{Signer: signer.Cert})
		if err != nil || !rep.SignatureOK || rep.Usable != 1 || rep.Scheme.SequenceNumber != 3 {
			t.Fatalf("id %q: xmlsec1's signature: %v %+v", id, err, rep)
		}
		tampered := []byte(strings.Replace(string(byXMLSec), "Regione Molise", "Regione Mo1ise", 1))
		if _, err := x509cns.NewTrustStore().LoadTSL(tampered, x509cns.TSLOptions{Signer: signer.Cert}); !errors.Is(err, x509cns.ErrTSLSignature) {
			t.Fatalf("id %q: tampered xmlsec1 list: %v", id, err)
		}
		ours, err := signer.Sign(l)
		if err != nil {
			t.Fatal(err)
		}
		verify := func(doc []byte) error {
			p := filepath.Join(dir, "verify.xml")
			if err := os.WriteFile(p, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"--verify", "--pubkey-cert-pem", filepath.Join(dir, "tsl-signer.crt")}
			if id != "" {
				args = append(args, "--id-attr:Id", tslNS+":TrustServiceStatusList")
			}
			out, err := exec.Command("xmlsec1", append(args, p)...).CombinedOutput()
			if err != nil {
				return errors.New(string(out))
			}
			return nil
		}
		if err := verify(ours); err != nil {
			t.Fatalf("id %q: xmlsec1 refused our signature: %v", id, err)
		}
		if err := verify([]byte(strings.Replace(string(ours), "Regione Molise", "Regione Mo1ise", 1))); err == nil {
			t.Fatalf("id %q: xmlsec1 accepted a tampered list", id)
		}
	}
}
