package cnstest_test

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// Independent readers: openssl must see what crypto/x509 and our own
// parser see.

// requireOpenSSL returns the openssl command; without it the test is
// skipped, saying how to install it, except under CI, where it fails.
func requireOpenSSL(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("openssl is required under CI: %v", err)
		}
		t.Skipf("openssl not installed (%v): apt-get install -y openssl", err)
	}
	return bin
}

func openssl(t *testing.T, args ...string) string {
	t.Helper()
	bin := requireOpenSSL(t)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestOpenSSLReadsCard(t *testing.T) {
	requireOpenSSL(t)
	ca, _ := shared(t)
	card := ca.MustIssueCard(cnstest.CardOptions{GivenName: "MARIO", FamilyName: "ROSSI"})
	dir := t.TempDir()
	paths, err := card.WriteFiles(dir, "card")
	if err != nil {
		t.Fatal(err)
	}
	out := openssl(t, "x509", "-in", paths[0], "-noout", "-text")
	for _, want := range []string{
		"Policy: 1.3.76.16.2.1",
		"CPS: " + cnstest.CNSPolicyCPS,
		"User Notice:",
		"Explicit Text: " + cnstest.CNSUserNotice,
		"X509v3 Key Usage: critical",
		"Digital Signature",
		"TLS Web Client Authentication",
		"URI:http://crl.cnsgate.test/toscana.crl",
		"OCSP - URI:http://ocsp.cnsgate.test/toscana",
		card.CardID + "." + card.Hash,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("openssl output lacks %q", want)
		}
	}
	if strings.Contains(out, "Non Repudiation") {
		t.Error("card must not carry nonRepudiation")
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := openssl(t, "verify", "-CAfile", caFile, "-purpose", "sslclient", paths[0]); !strings.Contains(out, ": OK") {
		t.Errorf("openssl verify: %s", out)
	}
}

func TestOpenSSLOCSPClient(t *testing.T) {
	requireOpenSSL(t)
	ca, err := cnstest.NewRegionalCA("Liguria")
	if err != nil {
		t.Fatal(err)
	}
	good, revoked := ca.MustIssueCard(cnstest.CardOptions{}), ca.MustIssueCard(cnstest.CardOptions{})
	ca.Revoke(revoked.Cert.SerialNumber, time.Now().Add(-time.Hour), ocsp.CessationOfOperation)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	goodFile, revokedFile := filepath.Join(dir, "good.pem"), filepath.Join(dir, "revoked.pem")
	_ = os.WriteFile(goodFile, good.CertPEM(), 0o644)
	_ = os.WriteFile(revokedFile, revoked.CertPEM(), 0o644)

	for _, opts := range []cnstest.OCSPOptions{{}, {Delegated: true}, {ResponderIDByKey: true}} {
		responder, err := ca.OCSPResponder(opts)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(responder)
		// openssl sends a nonce by default and checks the echo.
		out := openssl(t, "ocsp", "-issuer", caFile, "-CAfile", caFile, "-url", ts.URL,
			"-cert", goodFile, "-cert", revokedFile)
		ts.Close()
		for _, want := range []string{"Response verify OK", goodFile + ": good", revokedFile + ": revoked", "Reason: cessationOfOperation"} {
			if !strings.Contains(out, want) {
				t.Errorf("%+v: openssl ocsp output lacks %q:\n%s", opts, want, out)
			}
		}
		if strings.Contains(out, "nonce") || strings.Contains(out, "Nonce") {
			t.Errorf("%+v: nonce complaint:\n%s", opts, out)
		}
	}
}
