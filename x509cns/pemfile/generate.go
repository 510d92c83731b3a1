package pemfile

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// The kinds of key GenerateKey makes, named by the JOSE algorithm of the
// tokens they sign (`cnsgate keys generate --alg`).
const (
	AlgRS256 = "RS256" // RSA, 3072 bits
	AlgES256 = "ES256" // EC P-256
)

// GenerateKey returns a new private key for alg (AlgRS256 or AlgES256) as
// a PKCS#8 PEM block.
func GenerateKey(alg string) ([]byte, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case AlgRS256:
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	case AlgES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("algorithm %q is not supported: use %s or %s", alg, AlgRS256, AlgES256)
	}
	if err != nil {
		return nil, fmt.Errorf("generating %s key: %w", alg, err)
	}
	return EncodePrivateKey(key)
}

// EncodePrivateKey returns key as a PKCS#8 PEM block ("PRIVATE KEY").
func EncodePrivateKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
