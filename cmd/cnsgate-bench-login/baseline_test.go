package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// TestLoadSigner: the baseline reads an ES256 and an RS256 signing key as
// `cnsgate keys generate` writes them, and its signature verifies with
// the key's public half under the algorithm it names.
func TestLoadSigner(t *testing.T) {
	dir := t.TempDir()
	digest := sha256.Sum256([]byte("baseline"))
	for _, alg := range []string{pemfile.AlgES256, pemfile.AlgRS256} {
		key, err := pemfile.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, alg+".pem")
		if err := os.WriteFile(f, key, 0o600); err != nil {
			t.Fatal(err)
		}
		sign, name, err := loadSigner(f)
		if err != nil || name != alg {
			t.Fatalf("%s: %q, %v", alg, name, err)
		}
		sig, err := sign(digest[:])
		if err != nil {
			t.Fatal(err)
		}
		priv, _ := pemfile.PrivateKey(key)
		switch k := priv.(type) {
		case *ecdsa.PrivateKey:
			if !ecdsa.VerifyASN1(&k.PublicKey, digest[:], sig) {
				t.Errorf("%s: signature does not verify", alg)
			}
		case *rsa.PrivateKey:
			if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
				t.Errorf("%s: %v", alg, err)
			}
		}
	}
	if _, _, err := loadSigner(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("a missing key file was accepted")
	}
}
