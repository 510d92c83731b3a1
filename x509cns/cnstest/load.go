package cnstest

import (
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// LoadCA rebuilds a CA from its certificate and PKCS#8 key in PEM, as
// written by CertPEM and KeyPEM, so that a process restarted on the same
// files (the demo) signs CRLs and OCSP answers with it again. Revocations
// and issued certificates are not in the files: replay them with Revoke and
// AddIssued.
func LoadCA(certPEM, keyPEM []byte, opts ...CAOption) (*CA, error) {
	certs, err := pemfile.Certificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("cnstest: CA certificate: %w", err)
	}
	cert := certs[0]
	signer, err := pemfile.PrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("cnstest: CA key: %w", err)
	}
	cfg := buildConfig(opts)
	ca := &CA{
		Cert: cert, Key: signer, CardOrganization: "TS-CNS", CardType: '6',
		CRLDistributionPoints: cfg.crl, OCSPServer: cfg.ocsp, SignatureAlgorithm: cert.SignatureAlgorithm,
		Now: cfg.now, Rand: cfg.rand,
		issued:  map[string]*x509.Certificate{},
		revoked: map[string]x509.RevocationListEntry{},
	}
	if ca.Now == nil {
		ca.Now = time.Now
	}
	if ca.Rand == nil {
		ca.Rand = rand.Reader
	}
	return ca, nil
}

// AddIssued records certificates this CA issued in an earlier process, so
// that its OCSP responder answers for them.
func (ca *CA) AddIssued(certs ...*x509.Certificate) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	for _, c := range certs {
		ca.issued[c.SerialNumber.String()] = c
	}
}
