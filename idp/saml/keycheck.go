package saml

import (
	"crypto/x509"
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
