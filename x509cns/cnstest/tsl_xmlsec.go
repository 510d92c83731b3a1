package cnstest

import (
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// XMLSec1Hint says how to get xmlsec1 when it is missing.
const XMLSec1Hint = "xmlsec1 is needed to sign the test trusted list (Debian: apt-get install xmlsec1; scripts/test-setup.sh installs it)"

// SignXMLSec1 returns l signed by xmlsec1 (a signer nobody here wrote)
// from SignatureTemplate, working in dir. An error wrapping exec.ErrNotFound
// means xmlsec1 is not installed (see XMLSec1Hint).
func (s *TSLSigner) SignXMLSec1(l TrustedList, dir string) ([]byte, error) {
	path, err := exec.LookPath("xmlsec1")
	if err != nil {
		return nil, fmt.Errorf("cnstest: %s: %w", XMLSec1Hint, err)
	}
	keyPEM, err := s.KeyPEM()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"tsl-signer.key":   keyPEM,
		"tsl-signer.crt":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Cert.Raw}),
		"tsl-template.xml": l.SignatureTemplate(),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	out := filepath.Join(dir, "tsl-signed.xml")
	args := []string{"--sign", "--privkey-pem",
		filepath.Join(dir, "tsl-signer.key") + "," + filepath.Join(dir, "tsl-signer.crt"), "--output", out}
	if l.ID != "" {
		args = append(args, "--id-attr:Id", tslNS+":TrustServiceStatusList")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if msg, err := exec.CommandContext(ctx, path, append(args, filepath.Join(dir, "tsl-template.xml"))...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cnstest: xmlsec1 --sign: %v: %s", err, msg)
	}
	return os.ReadFile(out)
}
