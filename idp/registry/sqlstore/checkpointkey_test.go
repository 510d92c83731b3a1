package sqlstore

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// TestLoadCheckpointKey: an Ed25519 PKCS #8 key loads; another kind of
// key, a file with no key and a missing file are refused with the reason.
func TestLoadCheckpointKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	good := write("ed25519.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if k, err := LoadCheckpointKey(good); err != nil || !k.Equal(priv) {
		t.Fatalf("ed25519 key: %v", err)
	}
	ec, err := pemfile.GenerateKey(pemfile.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		write("ec.pem", ec):                    "not an Ed25519 key",
		write("none.pem", []byte("nothing\n")): "not a private key",
		filepath.Join(dir, "missing.pem"):      "no such file",
	} {
		if _, err := LoadCheckpointKey(file); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", filepath.Base(file), err, want)
		}
	}
}
