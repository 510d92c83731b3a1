package demo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// The demo federation: cnsgate's OpenID Provider is a leaf entity whose
// authority is a demonstration trust anchor. The anchor is not served (its
// entity id is under the reserved .example domain); its key signs the
// trust mark cnsgate publishes, and its public keys are the trust anchor
// keys of the configuration.
const (
	DemoTrustAnchor   = "https://trust-anchor.demo.cnsgate.example"
	DemoTrustMarkType = DemoTrustAnchor + "/openid_provider/public"
	federationDir     = "federation"
)

// FederationKeyFile is cnsgate's federation signing key, apart from the
// token signing keys.
func (s *Setup) FederationKeyFile() string {
	return filepath.Join(s.Dir, federationDir, "federation-es256.pem")
}

// TrustAnchorKeyFile is the demo trust anchor's private key.
func (s *Setup) TrustAnchorKeyFile() string {
	return filepath.Join(s.Dir, federationDir, "trust-anchor-es256.pem")
}

// TrustAnchorJWKSFile is the demo trust anchor's public JWK Set.
func (s *Setup) TrustAnchorJWKSFile() string {
	return filepath.Join(s.Dir, federationDir, "trust-anchor.jwks.json")
}

// ensureFederation creates whichever federation key is missing, and the
// anchor's JWK Set from its key.
func (s *Setup) ensureFederation() error {
	if err := os.MkdirAll(filepath.Join(s.Dir, federationDir), 0o700); err != nil {
		return err
	}
	for _, path := range []string{s.FederationKeyFile(), s.TrustAnchorKeyFile()} {
		if err := createOnce(path, func() ([]byte, error) { return pemfile.GenerateKey(pemfile.AlgES256) }); err != nil {
			return fmt.Errorf("demo federation key: %w", err)
		}
	}
	key, err := s.trustAnchorKey()
	if err != nil {
		return err
	}
	pub, err := key.PublicKey()
	if err != nil {
		return err
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	data, err := json.Marshal(set)
	if err != nil {
		return err
	}
	return os.WriteFile(s.TrustAnchorJWKSFile(), data, 0o644)
}

// trustAnchorKey reads the anchor's private key as a JWK with its
// thumbprint as kid.
func (s *Setup) trustAnchorKey() (jwk.Key, error) {
	data, err := os.ReadFile(s.TrustAnchorKeyFile())
	if err != nil {
		return nil, err
	}
	raw, err := pemfile.PrivateKey(data)
	if err != nil {
		return nil, err
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, err
	}
	_ = jwk.AssignKeyID(key)
	_ = key.Set(jwk.AlgorithmKey, jwa.ES256)
	return key, nil
}

// trustMark is the demo anchor's trust mark for the provider, valid a year.
func (s *Setup) trustMark(issuer string, now time.Time) (string, error) {
	key, err := s.trustAnchorKey()
	if err != nil {
		return "", err
	}
	claims, _ := json.Marshal(map[string]any{"iss": DemoTrustAnchor, "sub": issuer, "trust_mark_type": DemoTrustMarkType,
		"id": DemoTrustMarkType, "iat": now.Unix(), "exp": now.AddDate(1, 0, 0).Unix()})
	h := jws.NewHeaders()
	_ = h.Set(jws.TypeKey, "trust-mark+jwt")
	_ = h.Set(jws.KeyIDKey, key.KeyID())
	signed, err := jws.Sign(claims, jws.WithKey(jwa.ES256, key, jws.WithProtectedHeaders(h)))
	return string(signed), err
}

// writeFederationConfig appends the federation section; it needs the oidc
// section, so the demo has it only with a relying party.
func (s *Setup) writeFederationConfig(b *strings.Builder, issuer string) error {
	if len(s.RelyingParties()) == 0 {
		return nil
	}
	tm, err := s.trustMark(issuer, time.Now())
	if err != nil {
		return fmt.Errorf("demo trust mark: %w", err)
	}
	fmt.Fprintf(b, "federation:\n  signing_keys: [%q]\n  authority_hints: [%q]\n", s.FederationKeyFile(), DemoTrustAnchor)
	fmt.Fprintf(b, "  trust_anchors:\n    - entity_id: %q\n      jwks_file: %q\n", DemoTrustAnchor, s.TrustAnchorJWKSFile())
	fmt.Fprintf(b, "  trust_marks:\n    - trust_mark_type: %q\n      trust_mark: %q\n", DemoTrustMarkType, tm)
	fmt.Fprintf(b, "  organization_name: Amministrazione dimostrativa\n  contacts: [federazione@example.invalid]\n  homepage_uri: %q\n  profile: cie\n", issuer+"/")
	return nil
}
