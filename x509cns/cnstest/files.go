package cnstest

import (
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// CertPEM returns the card certificate (the leaf alone) in PEM.
func (c *Card) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// KeyPEM returns the card's private key in PKCS#8 PEM ("PRIVATE KEY").
func (c *Card) KeyPEM() []byte {
	b, err := keyPEM(c.Key)
	if err != nil { // an *rsa.PrivateKey always marshals
		panic(err)
	}
	return b
}

// ChainPEM returns the intermediates (Chain) in PEM, issuer first; empty for
// cards of a regional root.
func (c *Card) ChainPEM() []byte {
	var out []byte
	for _, ic := range c.Chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ic.Raw})...)
	}
	return out
}

// WriteFiles writes the card into dir as <name>.crt (leaf), <name>.key
// (PKCS#8, mode 0600) and <name>-fullchain.crt (leaf then intermediates, what
// "curl --cert" and browsers import), and returns their paths in that order.
func (c *Card) WriteFiles(dir, name string) ([]string, error) {
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{name + ".crt", c.CertPEM(), 0o644},
		{name + ".key", c.KeyPEM(), 0o600},
		{name + "-fullchain.crt", append(c.CertPEM(), c.ChainPEM()...), 0o644},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cnstest: %w", err)
	}
	paths := make([]string, 0, len(files))
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return nil, fmt.Errorf("cnstest: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// WriteCAFiles writes the certificate of each CA into dir as one PEM file,
// making a trust directory for tests and "cnsgate inspect --trust". File
// names come from the CN plus the first bytes of the SubjectKeyId, so the
// versions of a re-keyed CA do not collide. It returns the paths written.
func WriteCAFiles(dir string, cas ...*CA) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cnstest: %w", err)
	}
	paths := make([]string, 0, len(cas))
	for _, ca := range cas {
		p := filepath.Join(dir, CAFileName(ca.Cert))
		if err := os.WriteFile(p, ca.CertPEM(), 0o644); err != nil {
			return nil, fmt.Errorf("cnstest: %w", err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// CAFileName is the file name WriteCAFiles gives cert:
// "<CN with unsafe characters as _>-<4 bytes of SKI in hex>.pem".
func CAFileName(cert *x509.Certificate) string {
	cn := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, cert.Subject.CommonName)
	ski := cert.SubjectKeyId
	if len(ski) > 4 {
		ski = ski[:4]
	}
	if len(ski) == 0 {
		ski = cert.SerialNumber.Bytes()
		if len(ski) > 4 {
			ski = ski[len(ski)-4:]
		}
	}
	return cn + "-" + hex.EncodeToString(ski) + ".pem"
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	data, err := pemfile.EncodePrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("cnstest: %w", err)
	}
	return data, nil
}
