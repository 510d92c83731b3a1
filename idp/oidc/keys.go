package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// minRSABits is the smallest RSA signing key accepted.
const minRSABits = 2048

// ErrBadKey reports a signing key that cannot be used: not PEM, not RSA or
// EC P-256, too short, or a duplicate.
var ErrBadKey = errors.New("oidc: unusable signing key")

// keySet holds the provider's signing keys: the first signs, every one is
// published in /jwks so that tokens signed before a rotation still verify.
type keySet struct {
	signer jwk.Key // private, with kid and alg
	alg    jwa.SignatureAlgorithm
	public jwk.Set // every public key, with kid, alg and use=sig
	algs   []string
}

// parseSigningKeys reads PEM private keys (PKCS#8, PKCS#1 or SEC 1; the
// files `cnsgate keys generate` writes with pemfile.GenerateKey). An RSA
// key signs RS256, an EC P-256 key ES256. Each key's id is its RFC 7638
// thumbprint.
func parseSigningKeys(pems ...[]byte) (*keySet, error) {
	if len(pems) == 0 {
		return nil, fmt.Errorf("%w: no signing key", ErrBadKey)
	}
	ks := &keySet{public: jwk.NewSet()}
	seen := map[string]bool{}
	for i, data := range pems {
		raw, alg, err := parsePrivateKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("signing key %d: %w", i, err)
		}
		priv, err := jwk.FromRaw(raw)
		if err != nil {
			return nil, fmt.Errorf("signing key %d: %w: %v", i, ErrBadKey, err)
		}
		if err := jwk.AssignKeyID(priv); err != nil {
			return nil, fmt.Errorf("signing key %d: %w: %v", i, ErrBadKey, err)
		}
		if seen[priv.KeyID()] {
			return nil, fmt.Errorf("signing key %d: %w: the same key is listed twice", i, ErrBadKey)
		}
		seen[priv.KeyID()] = true
		_ = priv.Set(jwk.AlgorithmKey, alg)
		_ = priv.Set(jwk.KeyUsageKey, jwk.ForSignature)
		pub, err := priv.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("signing key %d: %w: %v", i, ErrBadKey, err)
		}
		if err := ks.public.AddKey(pub); err != nil {
			return nil, fmt.Errorf("signing key %d: %w: %v", i, ErrBadKey, err)
		}
		if i == 0 {
			ks.signer, ks.alg = priv, alg
		}
		if !contains(ks.algs, alg.String()) {
			ks.algs = append(ks.algs, alg.String())
		}
	}
	return ks, nil
}

// parsePrivateKeyPEM reads the first private key of a PEM file and the
// algorithm it signs.
func parsePrivateKeyPEM(data []byte) (crypto.Signer, jwa.SignatureAlgorithm, error) {
	key, err := pemfile.PrivateKey(data)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < minRSABits {
			return nil, "", fmt.Errorf("%w: RSA key of %d bits, at least %d required", ErrBadKey, k.N.BitLen(), minRSABits)
		}
		return k, jwa.RS256, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, "", fmt.Errorf("%w: EC key on %s, only P-256 (ES256) is supported", ErrBadKey, k.Curve.Params().Name)
		}
		return k, jwa.ES256, nil
	}
	return nil, "", fmt.Errorf("%w: %T keys are not supported (RSA or EC P-256)", ErrBadKey, key)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
