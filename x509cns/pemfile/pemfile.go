package pemfile

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// Errors of the parsers, tested with errors.Is.
var (
	// ErrNoCertificate reports input without any CERTIFICATE block.
	ErrNoCertificate = errors.New("no PEM CERTIFICATE block")
	// ErrNoPrivateKey reports input without any private key block.
	ErrNoPrivateKey = errors.New("not a private key: no PEM PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block")
)

// BlockError reports a PEM block whose content does not parse.
type BlockError struct {
	Index int    // 1 for the first block of the input
	Type  string // the block's type, e.g. "CERTIFICATE"
	Err   error
}

func (e *BlockError) Error() string {
	return fmt.Sprintf("PEM block %d (%s): %v", e.Index, e.Type, e.Err)
}

func (e *BlockError) Unwrap() error { return e.Err }

// Certificates reads every CERTIFICATE block of data, in order; blocks of
// other types are skipped. A block that does not parse is a *BlockError;
// input with no certificate is ErrNoCertificate.
func Certificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for n := 1; ; n++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, &BlockError{Index: n, Type: b.Type, Err: err}
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, ErrNoCertificate
	}
	return out, nil
}

// PrivateKey reads the first private key block of data: PKCS#8 ("PRIVATE
// KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"); blocks of
// other types are skipped. A key block that does not parse, or holds a key
// that cannot sign, is a *BlockError; input with no key block is
// ErrNoPrivateKey.
func PrivateKey(data []byte) (crypto.Signer, error) {
	for n := 1; ; n++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, ErrNoPrivateKey
		}
		var key any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, &BlockError{Index: n, Type: b.Type, Err: err}
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, &BlockError{Index: n, Type: b.Type, Err: fmt.Errorf("unsupported key type %T", key)}
		}
		return s, nil
	}
}
