package oidc

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/cnsgate/cnsgate/idp/signer"
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

// keyEntry is one configured signing key: what signs, the algorithms it
// signs, its rotation state and, retired, the end of its publication.
type keyEntry struct {
	raw    crypto.Signer // the parsed key of a PEM file, or an HSM's signer
	algs   []jwa.SignatureAlgorithm
	state  signer.State
	until  time.Time // retired: published until then; zero: until removed
	source string
}

// publishedKey is a public JWK of /jwks and the end of its publication.
type publishedKey struct {
	key   jwk.Key
	until time.Time
}

// keySet holds the provider's signing keys, RSA and EC side by side, in
// their rotation states. For each algorithm the first active key able to
// sign it signs; every key, next and retired ones included, is published
// in /jwks, once per algorithm it signs, so that relying parties know a
// next key before it signs and tokens signed before a rotation still
// verify. A retired key is dropped at its until. A keySet is immutable
// but for its published set, refreshed as retired keys expire; a reload
// replaces it whole.
type keySet struct {
	signers    map[jwa.SignatureAlgorithm]jwk.Key      // public JWK of each signing key
	ready      map[jwa.SignatureAlgorithm]*preparedKey // the same, ready to sign
	algs       []string                                // what the keys sign, in SigningAlgs order
	defaultAlg jwa.SignatureAlgorithm                  // RS256 when an RSA key is configured
	entries    []keyEntry
	all        []publishedKey

	mu        sync.Mutex
	public    jwk.Set   // the keys published now, with kid, alg and use=sig
	jwks      []byte    // public, encoded
	refreshAt time.Time // when the next retired key expires (zero: never)
}

// parseSigningKeys reads PEM private keys (PKCS#8, PKCS#1 or SEC 1; the
// files `cnsgate keys generate` writes with pemfile.GenerateKey), all
// active. Each key's id is its RFC 7638 thumbprint; the PS256 entry of an
// RSA key adds "-PS256", since one JWK names one algorithm.
func parseSigningKeys(pems ...[]byte) (*keySet, error) {
	entries, err := pemEntries(pems)
	if err != nil {
		return nil, err
	}
	return newKeySet(entries, time.Time{})
}

func pemEntries(pems [][]byte) ([]keyEntry, error) {
	var entries []keyEntry
	for i, data := range pems {
		raw, algs, err := parsePrivateKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("signing key %d: %w", i, err)
		}
		entries = append(entries, keyEntry{raw: raw, algs: algs, state: signer.StateActive, source: fmt.Sprintf("signing_keys[%d]", i)})
	}
	return entries, nil
}

// signerEntry makes the entry of a key opened by idp/signer.
func signerEntry(k signer.Key) (keyEntry, error) {
	algs, err := signer.Algorithms(k.Public())
	if err != nil {
		return keyEntry{}, fmt.Errorf("%s: %w: %v", k.Source(), ErrBadKey, err)
	}
	e := keyEntry{raw: k.Raw(), state: k.State, until: k.RetireAfter, source: k.Source()}
	if !e.state.Valid() {
		return keyEntry{}, fmt.Errorf("%s: %w: state %q (next, active or retired)", k.Source(), ErrBadKey, k.State)
	}
	for _, a := range algs {
		e.algs = append(e.algs, jwa.SignatureAlgorithm(a))
	}
	return e, nil
}

// newKeySet builds the key set of entries at now: a retired key whose
// until has passed is left out.
func newKeySet(entries []keyEntry, now time.Time) (*keySet, error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: no signing key", ErrBadKey)
	}
	ks := &keySet{signers: map[jwa.SignatureAlgorithm]jwk.Key{}, ready: map[jwa.SignatureAlgorithm]*preparedKey{}}
	seen := map[string]bool{}
	for i, e := range entries {
		if e.state == signer.StateRetired && !e.until.IsZero() && !now.IsZero() && !now.Before(e.until) {
			continue
		}
		if err := ks.add(e, seen); err != nil {
			return nil, fmt.Errorf("signing key %d (%s): %w", i, e.source, err)
		}
	}
	for _, a := range SigningAlgs {
		if ks.ready[jwa.SignatureAlgorithm(a)] != nil {
			ks.algs = append(ks.algs, a)
		}
	}
	if len(ks.algs) == 0 {
		return nil, fmt.Errorf("%w: no active signing key (next and retired keys do not sign)", ErrBadKey)
	}
	ks.defaultAlg = jwa.SignatureAlgorithm(ks.algs[0])
	if err := ks.publish(now); err != nil {
		return nil, err
	}
	return ks, nil
}

// add publishes e once per algorithm it signs and, when it is active and
// the first key of an algorithm, prepares it to sign; seen holds the kids
// published so far.
func (ks *keySet) add(e keyEntry, seen map[string]bool) error {
	ks.entries = append(ks.entries, e)
	for j, alg := range e.algs {
		pub, err := publicJWK(e.raw, alg, j > 0)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadKey, err)
		}
		if seen[pub.KeyID()] {
			return fmt.Errorf("%w: the same key is listed twice", ErrBadKey)
		}
		seen[pub.KeyID()] = true
		ks.all = append(ks.all, publishedKey{key: pub, until: e.until})
		if e.state == signer.StateActive && ks.signers[alg] == nil {
			ks.signers[alg] = pub
			if ks.ready[alg], err = prepare(e.raw, pub.KeyID(), alg); err != nil {
				return fmt.Errorf("%w: %s key: %v", ErrBadKey, alg, err)
			}
		}
	}
	return nil
}

// publicJWK makes the public JWK of raw for alg; suffixed gives it the kid
// of an additional algorithm of the same key.
func publicJWK(raw crypto.Signer, alg jwa.SignatureAlgorithm, suffixed bool) (jwk.Key, error) {
	pub, err := jwk.FromRaw(raw.Public())
	if err != nil {
		return nil, err
	}
	if err := jwk.AssignKeyID(pub); err != nil {
		return nil, err
	}
	if suffixed {
		_ = pub.Set(jwk.KeyIDKey, pub.KeyID()+"-"+alg.String())
	}
	_ = pub.Set(jwk.AlgorithmKey, alg)
	_ = pub.Set(jwk.KeyUsageKey, jwk.ForSignature)
	return pub, nil
}

// publish sets the keys published at now and their encoding; ks.mu is
// held, or ks is not shared yet.
func (ks *keySet) publish(now time.Time) error {
	set := jwk.NewSet()
	ks.refreshAt = time.Time{}
	for _, pk := range ks.all {
		if !pk.until.IsZero() && !now.IsZero() && !now.Before(pk.until) {
			continue
		}
		if err := set.AddKey(pk.key); err != nil {
			return err
		}
		if !pk.until.IsZero() && (ks.refreshAt.IsZero() || pk.until.Before(ks.refreshAt)) {
			ks.refreshAt = pk.until
		}
	}
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(set); err != nil {
		return err
	}
	ks.public, ks.jwks = set, b.Bytes()
	return nil
}

// publishedAt returns the keys published at now and their JSON (/jwks):
// those of the last call until a retired key expires.
func (ks *keySet) publishedAt(now time.Time) (jwk.Set, []byte) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if !ks.refreshAt.IsZero() && !now.Before(ks.refreshAt) {
		_ = ks.publish(now) // the keys were encoded once already
	}
	return ks.public, ks.jwks
}

// signer returns the public key of the key that signs alg and the
// algorithm itself; alg "" is the default. ok is false when no active key
// signs alg.
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

// summary describes each key for the logs: kid, state, source, until.
func (ks *keySet) summary() []string {
	var out []string
	for _, e := range ks.entries {
		kid, _ := signer.Thumbprint(e.raw.Public())
		line := fmt.Sprintf("%s %s %s", kid, e.state, e.source)
		if !e.until.IsZero() {
			line += " until " + e.until.UTC().Format(time.RFC3339)
		}
		out = append(out, line)
	}
	return out
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
