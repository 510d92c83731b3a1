package cnstest_test

import (
	"crypto/x509"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

func TestLoadCA(t *testing.T) {
	orig, err := cnstest.NewRegionalCA("Toscana")
	if err != nil {
		t.Fatal(err)
	}
	card := orig.MustIssueCard(cnstest.CardOptions{})
	keyPEM, err := orig.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	ca, err := cnstest.LoadCA(orig.CertPEM(), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ca.AddIssued(card.Cert)
	ca.Revoke(card.Cert.SerialNumber, time.Now().Add(-time.Minute), ocsp.KeyCompromise)
	der, err := ca.CRL(time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(orig.Cert); err != nil {
		t.Fatalf("CRL of the loaded CA does not verify with the original certificate: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(card.Cert.SerialNumber) != 0 {
		t.Fatalf("entries: %+v", crl.RevokedCertificateEntries)
	}
	if _, err := cnstest.LoadCA([]byte("junk"), keyPEM); err == nil {
		t.Fatal("junk certificate accepted")
	}
}
