package signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Signer is a signing key: it signs digests as a crypto.Signer and names
// its key id, the JOSE algorithms it signs and where it comes from.
type Signer interface {
	crypto.Signer
	// KeyID is the RFC 7638 thumbprint (SHA-256, base64url) of the public key.
	KeyID() string
	// Algorithms are the JOSE algorithms of the key: RS256 and PS256 for
	// RSA, ES256 for EC P-256.
	Algorithms() []string
	// Source names the key for logs: its file, or its token and label.
	Source() string
	// Raw is the crypto.Signer to sign with: the parsed private key of a
	// local key (fastest), the Signer itself otherwise.
	Raw() crypto.Signer
}

// State is where a key is in its rotation.
type State string

// The states of a key. Next is published (JWKS, SAML metadata) but does
// not sign; active signs; retired is published until its RetireAfter and
// never signs.
const (
	StateNext    State = "next"
	StateActive  State = "active"
	StateRetired State = "retired"
)

// States lists the valid states, in rotation order.
var States = []State{StateNext, StateActive, StateRetired}

// Valid reports whether s is one of States.
func (s State) Valid() bool {
	return s == StateNext || s == StateActive || s == StateRetired
}

// Spec says where a key is: a PEM file or a PKCS#11 token (exactly one).
type Spec struct {
	File   string
	PKCS11 *PKCS11Spec
}

// PKCS11Spec names a key in a PKCS#11 token: the module (the vendor's
// shared library), the token by label or slot number, the file holding
// the user PIN and the key's label (CKA_LABEL of its private key).
type PKCS11Spec struct {
	Module     string
	TokenLabel string
	Slot       *int
	PinFile    string
	KeyLabel   string
}

// Key is a Signer with its rotation state.
type Key struct {
	Signer
	State State
	// RetireAfter is when a retired key stops being published (zero:
	// until it is removed from the configuration).
	RetireAfter time.Time
}

// ErrBadKey reports a key that cannot be used.
var ErrBadKey = errors.New("signer: unusable signing key")

// ErrNoPKCS11 reports a PKCS#11 key asked of a build without cgo.
var ErrNoPKCS11 = errors.New("signer: this cnsgate is built without PKCS#11 support (CGO_ENABLED=0); build it with `make build-hsm` (CGO_ENABLED=1) to use HSM keys")

// MinRSABits is the smallest RSA key accepted.
const MinRSABits = 2048

// Open opens the key of spec; readFile reads the PEM file or the PIN file
// (os.ReadFile when nil).
func Open(spec Spec, readFile func(string) ([]byte, error)) (Signer, error) {
	switch {
	case spec.File != "" && spec.PKCS11 != nil:
		return nil, fmt.Errorf("%w: both a file and a pkcs11 key given", ErrBadKey)
	case spec.File != "":
		return OpenFile(spec.File, readFile)
	case spec.PKCS11 != nil:
		return openPKCS11(*spec.PKCS11, readFile)
	}
	return nil, fmt.Errorf("%w: neither a file nor a pkcs11 key given", ErrBadKey)
}

// Algorithms checks a public key and returns the JOSE algorithms it signs.
func Algorithms(pub crypto.PublicKey) ([]string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("%w: RSA key of %d bits, at least %d required", ErrBadKey, k.N.BitLen(), MinRSABits)
		}
		return []string{"RS256", "PS256"}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: EC key on %s, only P-256 (ES256) is supported", ErrBadKey, k.Curve.Params().Name)
		}
		return []string{"ES256"}, nil
	}
	return nil, fmt.Errorf("%w: %T keys are not supported (RSA or EC P-256)", ErrBadKey, pub)
}

// Thumbprint is the RFC 7638 thumbprint of pub (SHA-256, base64url): the
// key id cnsgate gives it.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	k, err := jwk.FromRaw(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if err := jwk.AssignKeyID(k); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return k.KeyID(), nil
}

// described is what Local and the PKCS#11 key share: id, algorithms, source.
type described struct {
	kid    string
	algs   []string
	source string
}

func describe(pub crypto.PublicKey, source string) (described, error) {
	algs, err := Algorithms(pub)
	if err != nil {
		return described{}, err
	}
	kid, err := Thumbprint(pub)
	if err != nil {
		return described{}, err
	}
	return described{kid: kid, algs: algs, source: source}, nil
}

func (d described) KeyID() string        { return d.kid }
func (d described) Algorithms() []string { return append([]string(nil), d.algs...) }
func (d described) Source() string       { return d.source }

// describe names the key of s for logs and errors (never the PIN).
func (s PKCS11Spec) describe() string {
	tok := "token=" + s.TokenLabel
	if s.Slot != nil {
		tok = fmt.Sprintf("slot=%d", *s.Slot)
	}
	return fmt.Sprintf("pkcs11:%s;object=%s", tok, s.KeyLabel)
}
