package demo

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// PKCS12Password protects the demo cards' PKCS#12 files. The cards are
// test cards of a demo CA nobody else trusts, so the password is printed,
// not kept secret.
const PKCS12Password = "cnsgate-demo"

// PKCS12File is where a demo card is kept as PKCS#12, the format browsers
// and smart-card tools import.
func (c Card) PKCS12File() string { return strings.TrimSuffix(c.CertFile, ".crt") + ".p12" }

// ensurePKCS12 writes each card's PKCS#12 file (key, certificate and
// intermediates, AES-256 with PBKDF2) when it is missing, so that demo
// directories made before it existed get one too.
func (s *Setup) ensurePKCS12() error {
	for _, c := range s.Cards {
		if _, err := os.Stat(c.PKCS12File()); err == nil {
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		chainPEM, err := os.ReadFile(c.ChainFile)
		if err != nil {
			return err
		}
		chain, err := x509cns.ParseCertificates(chainPEM)
		if err != nil {
			return fmt.Errorf("demo card %s: %w", c.Name, err)
		}
		keyPEM, err := os.ReadFile(c.KeyFile)
		if err != nil {
			return err
		}
		key, err := pemfile.PrivateKey(keyPEM)
		if err != nil {
			return fmt.Errorf("demo card %s: %w", c.Name, err)
		}
		der, err := pkcs12.Modern.Encode(key, chain[0], chain[1:], PKCS12Password)
		if err != nil {
			return fmt.Errorf("demo card %s: %w", c.Name, err)
		}
		if err := os.WriteFile(c.PKCS12File(), der, 0o600); err != nil {
			return err
		}
	}
	return nil
}
