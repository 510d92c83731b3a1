package signer_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp/signer"
	"github.com/cnsgate/cnsgate/internal/softhsm"
	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// TestPKCS11KeysSign: an RSA and an EC key generated inside a SoftHSM2
// token are opened by label, name their algorithms and thumbprint, and
// sign digests that verify with their public keys; the token is logged in
// once and a second Open reuses it.
func TestPKCS11KeysSign(t *testing.T) {
	tok := softhsm.New(t)
	tok.GenerateKey(t, "rsa:2048", "oidc-rsa", "01")
	tok.GenerateKey(t, "EC:prime256v1", "oidc-ec", "02")
	digest := sha256.Sum256([]byte("cnsgate"))
	for _, c := range []struct {
		label, alg string
	}{{"oidc-rsa", "RS256"}, {"oidc-ec", "ES256"}} {
		spec := signer.Spec{PKCS11: &signer.PKCS11Spec{Module: tok.Module, TokenLabel: tok.Label, PinFile: tok.PinFile, KeyLabel: c.label}}
		k, err := signer.Open(spec, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.label, err)
		}
		if got := k.Algorithms(); got[0] != c.alg {
			t.Errorf("%s: algorithms %v, want %s first", c.label, got, c.alg)
		}
		if want, _ := signer.Thumbprint(k.Public()); k.KeyID() != want || want == "" {
			t.Errorf("%s: kid %q, want %q", c.label, k.KeyID(), want)
		}
		if !strings.Contains(k.Source(), "token=cnsgate;object="+c.label) {
			t.Errorf("source %q", k.Source())
		}
		sig, err := k.Raw().Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatalf("%s: sign: %v", c.label, err)
		}
		switch pub := k.Public().(type) {
		case *rsa.PublicKey:
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
		case *ecdsa.PublicKey:
			if !ecdsa.VerifyASN1(pub, digest[:], sig) {
				err = errors.New("bad ECDSA signature")
			}
		}
		if err != nil {
			t.Errorf("%s: %v", c.label, err)
		}
		pss, err := k.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
		if pub, ok := k.Public().(*rsa.PublicKey); ok {
			if err != nil {
				t.Fatalf("PS256 in the token: %v", err)
			}
			if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], pss, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}); err != nil {
				t.Errorf("PS256 signature: %v", err)
			}
		}
	}
}

// TestPKCS11Refusals: a wrong PIN (at the token), another PIN than the
// one a logged-in token took, a missing key label, a missing PIN file, no
// token selector: each refused with its reason, the PIN never in the
// message.
func TestPKCS11Refusals(t *testing.T) {
	tok := softhsm.New(t)
	tok.GenerateKey(t, "rsa:2048", "refuse-rsa", "03")
	good := signer.PKCS11Spec{Module: tok.Module, TokenLabel: tok.Label, PinFile: tok.PinFile, KeyLabel: "refuse-rsa"}
	wrongPin, otherPin, missingKey, noPin, noToken := good, good, good, good, good
	spare := softhsm.Spare(t)
	wrongPin.TokenLabel, wrongPin.PinFile = spare.Label, tok.WrongPinFile(t)
	otherPin.PinFile = tok.WrongPinFile(t)
	if _, err := signer.Open(signer.Spec{PKCS11: &good}, nil); err != nil {
		t.Fatal(err)
	}
	missingKey.KeyLabel = "absent"
	noPin.PinFile = filepath.Join(t.TempDir(), "none")
	noToken.TokenLabel = ""
	for _, c := range []struct {
		name string
		spec signer.PKCS11Spec
		want string
	}{
		{"wrong PIN", wrongPin, "CKR_PIN_INCORRECT"},
		{"another PIN, token logged in", otherPin, "another PIN than the one the token was logged in with"},
		{"missing key", missingKey, `no key pair labelled "absent"`},
		{"missing PIN file", noPin, "pin_file"},
		{"no token", noToken, "exactly one of token_label and slot"},
	} {
		_, err := signer.Open(signer.Spec{PKCS11: &c.spec}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), softhsm.PIN) || strings.Contains(err.Error(), "00000000")) {
			t.Errorf("%s: the PIN is in the error: %v", c.name, err)
		}
	}
}

// TestLocalKey: a PEM key opens as itself (Raw is the parsed key) and a
// short RSA key is refused.
func TestLocalKey(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "k.pem")
	data, err := pemfile.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := signer.Open(signer.Spec{File: f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Raw().(*ecdsa.PrivateKey); !ok || k.Source() != f {
		t.Errorf("raw %T, source %q", k.Raw(), k.Source())
	}
	short, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := signer.Algorithms(short.Public()); !errors.Is(err, signer.ErrBadKey) {
		t.Errorf("a 1024-bit key: %v", err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	softhsm.Cleanup()
	os.Exit(code)
}
