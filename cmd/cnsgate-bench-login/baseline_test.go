package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// TestLoadECKey: the baseline reads an ES256 signing key as `cnsgate keys
// generate` writes it, and refuses an RSA one.
func TestLoadECKey(t *testing.T) {
	dir := t.TempDir()
	for alg, want := range map[string]string{pemfile.AlgES256: "", pemfile.AlgRS256: "not an ECDSA key"} {
		key, err := pemfile.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, alg+".pem")
		if err := os.WriteFile(f, key, 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := loadECKey(f)
		if want == "" && (err != nil || k == nil) || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, %v", alg, k != nil, err)
		}
	}
}
