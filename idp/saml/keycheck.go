package saml

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// CheckKeyPair reads the identity provider's certificate and key as New
// would, for cnsgate check-config: nil when they would sign.
func CheckKeyPair(certPEM, keyPEM []byte) error {
	_, err := parseKeyPair(certPEM, keyPEM)
	return err
}

// CheckMetadata reads a service provider's metadata file as New would,
// signature (with signerPEM, when not nil), entity id and validity at now
// included, for cnsgate check-config.
func CheckMetadata(data []byte, entityID string, signerPEM []byte, now time.Time) error {
	var signers []*x509.Certificate
	if signerPEM != nil {
		var err error
		if signers, err = pemfile.Certificates(signerPEM); err != nil {
			return err
		}
	}
	_, err := parseSPMetadata(data, entityID, signers, now)
	return err
}

// CheckSignerCert checks the certificate of cert_file against a signer
// opened from saml.key_pkcs11, for cnsgate check-config.
func CheckSignerCert(certPEM []byte, signer crypto.Signer) error {
	certs, err := pemfile.Certificates(certPEM)
	if err != nil {
		return fmt.Errorf("saml: cert_file: %w", err)
	}
	_, err = newKeyPair(certs, signer)
	return err
}

// CheckNextCert reads saml.next_cert_file as New would, for cnsgate
// check-config.
func CheckNextCert(data []byte) error {
	_, err := parseNextCert(data)
	return err
}
