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

// The signing algorithms: an RSA key signs RS256, PS256 and RS512, an EC
// P-256 key ES256. RS256 is the default of ID tokens (OpenID Connect Discovery 1.0,
// 3: id_token_signing_alg_values_supported MUST include it).
const (
	AlgRS256 = "RS256"
	AlgPS256 = "PS256"
	AlgES256 = "ES256"
	AlgRS512 = "RS512" // required by the SPID/CIE OIDC rules
)

// SigningAlgs lists the algorithms a client may register for its ID
// tokens, userinfo responses and logout tokens, in the order discovery
// publishes them.
var SigningAlgs = []string{AlgRS256, AlgPS256, AlgES256, AlgRS512}

// keySet holds the provider's signing keys, RSA and EC side by side. For
// each algorithm the first key able to sign it signs; every key is
// published in /jwks, once per algorithm it signs, so that tokens signed
// before a rotation still verify.
type keySet struct {
	signers    map[jwa.SignatureAlgorithm]jwk.Key      // private, with kid and alg
	ready      map[jwa.SignatureAlgorithm]*preparedKey // the same, ready to sign
	public     jwk.Set                                 // every public key, with kid, alg and use=sig
	algs       []string                                // what the keys sign, in SigningAlgs order
	defaultAlg jwa.SignatureAlgorithm                  // RS256 when an RSA key is configured
}

// parseSigningKeys reads PEM private keys (PKCS#8, PKCS#1 or SEC 1; the
// files `cnsgate keys generate` writes with pemfile.GenerateKey). Each
// key's id is its RFC 7638 thumbprint; the PS256 entry of an RSA key adds
// "-PS256", since one JWK names one algorithm.
func parseSigningKeys(pems ...[]byte) (*keySet, error) {
	if len(pems) == 0 {
		return nil, fmt.Errorf("%w: no signing key", ErrBadKey)
	}
	ks := &keySet{signers: map[jwa.SignatureAlgorithm]jwk.Key{}, public: jwk.NewSet()}
	seen := map[string]bool{}
	for i, data := range pems {
		raw, algs, err := parsePrivateKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("signing key %d: %w", i, err)
		}
		for j, alg := range algs {
			priv, err := ks.add(raw, alg, j > 0)
			if err != nil {
				return nil, fmt.Errorf("signing key %d: %w: %v", i, ErrBadKey, err)
			}
			if seen[priv.KeyID()] {
				return nil, fmt.Errorf("signing key %d: %w: the same key is listed twice", i, ErrBadKey)
			}
			seen[priv.KeyID()] = true
			if ks.signers[alg] == nil {
				ks.signers[alg] = priv
			}
		}
	}
	ks.ready = map[jwa.SignatureAlgorithm]*preparedKey{}
	for _, a := range SigningAlgs {
		alg := jwa.SignatureAlgorithm(a)
		if priv := ks.signers[alg]; priv != nil {
			pk, err := prepare(priv, alg)
			if err != nil {
				return nil, fmt.Errorf("%w: %s key: %v", ErrBadKey, a, err)
			}
			ks.ready[alg], ks.algs = pk, append(ks.algs, a)
		}
	}
	ks.defaultAlg = jwa.SignatureAlgorithm(ks.algs[0])
	return ks, nil
}

// add makes the JWK of raw for alg and publishes its public half;
// suffixed gives it the kid of an additional algorithm of the same key.
func (ks *keySet) add(raw crypto.Signer, alg jwa.SignatureAlgorithm, suffixed bool) (jwk.Key, error) {
	priv, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, err
	}
	if err := jwk.AssignKeyID(priv); err != nil {
		return nil, err
	}
	if suffixed {
		_ = priv.Set(jwk.KeyIDKey, priv.KeyID()+"-"+alg.String())
	}
	_ = priv.Set(jwk.AlgorithmKey, alg)
	_ = priv.Set(jwk.KeyUsageKey, jwk.ForSignature)
	pub, err := priv.PublicKey()
	if err != nil {
		return nil, err
	}
	if err := ks.public.AddKey(pub); err != nil {
		return nil, err
	}
	return priv, nil
}

// signer returns the key that signs alg and the algorithm itself; alg ""
// is the default. ok is false when no configured key signs alg.
func (ks *keySet) signer(alg string) (jwk.Key, jwa.SignatureAlgorithm, bool) {
	a := ks.defaultAlg
	if alg != "" {
		a = jwa.SignatureAlgorithm(alg)
	}
	k := ks.signers[a]
	return k, a, k != nil
}

// prepared returns the ready signing key of alg ("" the default).
func (ks *keySet) prepared(alg string) (*preparedKey, bool) {
	a := ks.defaultAlg
	if alg != "" {
		a = jwa.SignatureAlgorithm(alg)
	}
	pk := ks.ready[a]
	return pk, pk != nil
}

// parsePrivateKeyPEM reads the first private key of a PEM file and the
// algorithms it signs.
func parsePrivateKeyPEM(data []byte) (crypto.Signer, []jwa.SignatureAlgorithm, error) {
	key, err := pemfile.PrivateKey(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < minRSABits {
			return nil, nil, fmt.Errorf("%w: RSA key of %d bits, at least %d required", ErrBadKey, k.N.BitLen(), minRSABits)
		}
		return k, []jwa.SignatureAlgorithm{jwa.RS256, jwa.PS256, jwa.RS512}, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, nil, fmt.Errorf("%w: EC key on %s, only P-256 (ES256) is supported", ErrBadKey, k.Curve.Params().Name)
		}
		return k, []jwa.SignatureAlgorithm{jwa.ES256}, nil
	}
	return nil, nil, fmt.Errorf("%w: %T keys are not supported (RSA or EC P-256)", ErrBadKey, key)
}

// keyNeeded names the kind of key that signs alg, for error messages.
func keyNeeded(alg string) string {
	if alg == AlgES256 {
		return "an EC P-256 key"
	}
	return "an RSA key"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
