package x509cns

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Test PKI minted in-process for the trust-store tests. (x509cns/cnstest
// imports x509cns, so the package's own tests cannot use it.)

var (
	t2018 = time.Date(2018, 12, 14, 12, 0, 0, 0, time.UTC)
	t2026 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
)

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// caTemplate is a CA in the CNS "CA Cittadini" style: pathLen 0, keyCertSign.
func caTemplate(cn string, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{Country: []string{"IT"}, Organization: []string{"Test S.p.A."}, CommonName: cn},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

// mint signs tmpl with parentKey under parent (self-signed when parent is
// nil) and returns the parsed certificate with its new key.
func mint(t *testing.T, tmpl, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := newECKey(t)
	if tmpl.SerialNumber == nil {
		serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
		if err != nil {
			t.Fatal(err)
		}
		tmpl.SerialNumber = serial
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// leafNamedUnder mints a card-like leaf whose issuer name is issuer's
// subject and whose AKI is issuer's SKI (withAKI) or absent. It is signed
// by a throwaway key, not by issuer: Issuers only looks at names and key
// identifiers, so this works for the real CAs whose keys nobody here holds.
func leafNamedUnder(t *testing.T, issuer *x509.Certificate, withAKI bool) *x509.Certificate {
	t.Helper()
	signer := newECKey(t)
	parent := *issuer // shallow copy: same RawSubject and SubjectKeyId
	parent.PublicKey = signer.Public()
	if !withAKI {
		parent.SubjectKeyId = nil
	}
	tmpl := &x509.Certificate{
		Subject:   pkix.Name{CommonName: "RSSMRA80A01H501U/5000000000000001.aGFzaA=="},
		NotBefore: t2018.AddDate(-1, 0, 0),
		NotAfter:  t2018.AddDate(5, 0, 0),
		KeyUsage:  x509.KeyUsageDigitalSignature,
	}
	leaf, _ := mint(t, tmpl, &parent, signer)
	if withAKI != (len(leaf.AuthorityKeyId) > 0) {
		t.Fatalf("leaf AKI = %x, want present=%v", leaf.AuthorityKeyId, withAKI)
	}
	return leaf
}

func writePEM(t *testing.T, path string, blocks ...*pem.Block) {
	t.Helper()
	var data []byte
	for _, b := range blocks {
		data = append(data, pem.EncodeToMemory(b)...)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func certBlock(c *x509.Certificate) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw} }

// readTestDER returns the DER of one PEM certificate of testdata/certs.
func readTestDER(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "certs", name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	return blk.Bytes
}

// readTestCert parses one certificate of testdata/certs with the lenient
// parser (one of them needs it).
func readTestCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	c, _, err := parseAnchorDER(readTestDER(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}
