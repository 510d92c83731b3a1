package cnstest

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"time"
)

// Issue signs tpl for pub with ca and records the certificate for CRLs and
// OCSP. Zero fields get defaults: a random serial, validity from an hour
// before Now for six years, the CA's SignatureAlgorithm, CRL distribution
// points and OCSP URLs (pass empty, non-nil slices for none). Use it for certificates outside the card profile
// (a TLS server certificate for a demo, an odd leaf).
func (ca *CA) Issue(tpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	t := *tpl
	if t.SerialNumber == nil {
		serial, err := randomSerial(ca.Rand)
		if err != nil {
			return nil, err
		}
		t.SerialNumber = serial
	}
	if t.NotBefore.IsZero() {
		t.NotBefore = ca.Now().Add(-time.Hour).Truncate(time.Second)
	}
	if t.NotAfter.IsZero() {
		t.NotAfter = t.NotBefore.AddDate(6, 0, 0)
	}
	if t.SignatureAlgorithm == x509.UnknownSignatureAlgorithm {
		t.SignatureAlgorithm = ca.SignatureAlgorithm
	}
	if t.CRLDistributionPoints == nil {
		t.CRLDistributionPoints = ca.CRLDistributionPoints
	}
	if t.OCSPServer == nil {
		t.OCSPServer = ca.OCSPServer
	}
	der, err := x509.CreateCertificate(ca.Rand, &t, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("cnstest: issue from %q: %w", ca.Cert.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca.mu.Lock()
	ca.issued[cert.SerialNumber.String()] = cert
	ca.mu.Unlock()
	return cert, nil
}

// Issued returns the certificate this CA issued with the given serial, or
// nil.
func (ca *CA) Issued(serial *big.Int) *x509.Certificate {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.issued[serial.String()]
}

// Root returns the self-signed CA at the top of ca's chain.
func (ca *CA) Root() *CA {
	for ca.Parent != nil {
		ca = ca.Parent
	}
	return ca
}

// Intermediates returns ca and its ancestors up to, not including, the
// root: what a client presents after its leaf. Empty for a root.
func (ca *CA) Intermediates() []*x509.Certificate {
	var out []*x509.Certificate
	for p := ca; p.Parent != nil; p = p.Parent {
		out = append(out, p.Cert)
	}
	return out
}

// CertPool returns a pool holding only ca's root, for x509.VerifyOptions.
func (ca *CA) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Root().Cert)
	return pool
}

// CertPEM returns the CA certificate in PEM.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// KeyPEM returns the CA key in PKCS#8 PEM.
func (ca *CA) KeyPEM() ([]byte, error) { return keyPEM(ca.Key) }

// randomSerial returns a positive 127-bit serial whose top bits are fixed,
// so that it always encodes in 16 bytes.
func randomSerial(r io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("cnstest: serial: %w", err)
	}
	b[0] = b[0]&0x3f | 0x40
	return new(big.Int).SetBytes(b), nil
}
