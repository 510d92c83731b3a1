package signer

import (
	"crypto"
	"fmt"
	"io"
	"os"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// Local is a key read from a PEM private key file (PKCS#8, PKCS#1 or SEC
// 1: what `cnsgate keys generate` writes).
type Local struct {
	described
	key crypto.Signer
}

// OpenFile reads the PEM private key of file with readFile (os.ReadFile
// when nil).
func OpenFile(file string, readFile func(string) ([]byte, error)) (*Local, error) {
	if readFile == nil {
		readFile = os.ReadFile
	}
	data, err := readFile(file)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	l, err := ParsePEM(data, file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return l, nil
}

// ParsePEM reads the first private key of a PEM document; source names it
// in logs.
func ParsePEM(data []byte, source string) (*Local, error) {
	key, err := pemfile.PrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if pc, ok := key.(interface{ Precompute() }); ok {
		pc.Precompute()
	}
	d, err := describe(key.Public(), source)
	if err != nil {
		return nil, err
	}
	return &Local{described: d, key: key}, nil
}

// Public returns the public key.
func (l *Local) Public() crypto.PublicKey { return l.key.Public() }

// Sign signs digest with the private key.
func (l *Local) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return l.key.Sign(rand, digest, opts)
}

// Raw returns the parsed private key (*rsa.PrivateKey or *ecdsa.PrivateKey).
func (l *Local) Raw() crypto.Signer { return l.key }
