package federation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// ErrBadKey reports a federation signing key that cannot be used.
var ErrBadKey = errors.New("federation: unusable signing key")

// signer holds the federation keys: the first signs, all are published.
type signer struct {
	key    jwk.Key
	alg    jwa.SignatureAlgorithm
	public jwk.Set
}

// newSigner reads the PEM keys: RSA (at least 2048 bits, RS256) or EC
// P-256 (ES256); each key's id is its RFC 7638 thumbprint.
func newSigner(pems [][]byte) (*signer, error) {
	if len(pems) == 0 {
		return nil, fmt.Errorf("%w: no signing key", ErrBadKey)
	}
	s := &signer{public: jwk.NewSet()}
	seen := map[string]bool{}
	for i, data := range pems {
		raw, err := pemfile.PrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %w", ErrBadKey, i+1, err)
		}
		var alg jwa.SignatureAlgorithm
		switch k := raw.(type) {
		case *rsa.PrivateKey:
			if k.N.BitLen() < 2048 {
				return nil, fmt.Errorf("%w: key %d: RSA key of %d bits, at least 2048", ErrBadKey, i+1, k.N.BitLen())
			}
			alg = jwa.RS256
		case *ecdsa.PrivateKey:
			if k.Curve != elliptic.P256() {
				return nil, fmt.Errorf("%w: key %d: EC keys must be P-256", ErrBadKey, i+1)
			}
			alg = jwa.ES256
		default:
			return nil, fmt.Errorf("%w: key %d: not RSA nor EC P-256", ErrBadKey, i+1)
		}
		priv, err := jwk.FromRaw(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %w", ErrBadKey, i+1, err)
		}
		if err := jwk.AssignKeyID(priv); err != nil {
			return nil, err
		}
		if seen[priv.KeyID()] {
			return nil, fmt.Errorf("%w: key %d: the same key is listed twice", ErrBadKey, i+1)
		}
		seen[priv.KeyID()] = true
		_ = priv.Set(jwk.AlgorithmKey, alg)
		_ = priv.Set(jwk.KeyUsageKey, "sig")
		pub, err := priv.PublicKey()
		if err != nil {
			return nil, err
		}
		_ = s.public.AddKey(pub)
		if i == 0 {
			s.key, s.alg = priv, alg
		}
	}
	return s, nil
}

// sign makes an entity statement of claims.
func (s *signer) sign(claims map[string]any) ([]byte, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	h := jws.NewHeaders()
	_ = h.Set(jws.TypeKey, StatementType)
	_ = h.Set(jws.KeyIDKey, s.key.KeyID())
	return jws.Sign(payload, jws.WithKey(s.alg, s.key, jws.WithProtectedHeaders(h)))
}

// Mount serves the entity configuration on the public mux.
func (f *Federation) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathConfiguration, f.serveConfiguration)
}

// Routes lists the patterns Mount registers, for route labels of metrics.
func Routes() []string { return []string{"GET " + PathConfiguration} }

// resign is how long one signed entity configuration is served before a
// fresh one (new iat and exp) is signed.
const resign = time.Minute

// serveConfiguration answers the entity configuration, signed at most a
// minute ago.
func (f *Federation) serveConfiguration(w http.ResponseWriter, r *http.Request) {
	body, err := f.signedConfiguration()
	if err != nil {
		f.o.Logger.ErrorContext(r.Context(), "federation: entity configuration not signed", "err", err)
		http.Error(w, "entity configuration unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write(body)
}

func (f *Federation) signedConfiguration() ([]byte, error) {
	f.signed.Lock()
	defer f.signed.Unlock()
	now := f.o.Now()
	if f.signed.jwt != nil && now.Sub(f.signed.at) < resign && now.After(f.signed.at.Add(-clockSkew)) {
		return f.signed.jwt, nil
	}
	b, err := f.EntityConfiguration(now)
	if err != nil {
		return nil, err
	}
	f.signed.jwt, f.signed.at = b, now
	return b, nil
}

// EntityConfiguration signs the provider's entity configuration as of now
// (OpenID Federation 1.0, 3): iss = sub = the entity id, iat and exp, the
// federation keys, the authority hints, the federation_entity and
// openid_provider metadata and the trust marks.
func (f *Federation) EntityConfiguration(now time.Time) ([]byte, error) {
	claims := map[string]any{
		"iss": f.o.EntityID, "sub": f.o.EntityID,
		"iat": now.Unix(), "exp": now.Add(f.o.Lifetime).Unix(),
		"jwks": f.signer.public,
		"metadata": map[string]any{
			"federation_entity": f.entityMetadata(),
			"openid_provider":   f.providerMetadata(),
		},
	}
	if len(f.o.AuthorityHints) > 0 {
		claims["authority_hints"] = f.o.AuthorityHints
	}
	if len(f.o.TrustMarks) > 0 {
		marks := make([]map[string]string, 0, len(f.o.TrustMarks))
		for _, tm := range f.o.TrustMarks {
			// trust_mark_type is OpenID Federation 1.0's name; id the one of
			// the drafts the SPID and CIE id rules follow.
			marks = append(marks, map[string]string{"trust_mark_type": tm.Type, "id": tm.Type, "trust_mark": tm.JWT})
		}
		claims["trust_marks"] = marks
	}
	return f.signer.sign(claims)
}

// entityMetadata is the federation_entity metadata, the parameters set.
func (f *Federation) entityMetadata() map[string]any {
	e := f.o.Entity
	out := map[string]any{}
	for k, v := range map[string]string{
		"organization_name": e.OrganizationName, "homepage_uri": e.HomepageURI, "policy_uri": e.PolicyURI, "logo_uri": e.LogoURI,
	} {
		if v != "" {
			out[k] = v
		}
	}
	if len(e.Contacts) > 0 {
		out["contacts"] = e.Contacts
	}
	return out
}

// providerMetadata is the discovery document plus what a federation
// adds: automatic registration, and the ways an authorization request
// authenticates its relying party.
func (f *Federation) providerMetadata() map[string]any {
	md := maps.Clone(f.o.ProviderMetadata())
	md["client_registration_types_supported"] = []string{"automatic"}
	if f.o.ProviderKeys != nil {
		md["jwks"] = f.o.ProviderKeys()
	}
	methods := map[string][]string{}
	if v, _ := md["request_parameter_supported"].(bool); v {
		methods["authorization_endpoint"] = []string{"request_object"}
		if algs, ok := md["request_object_signing_alg_values_supported"]; ok {
			md["request_authentication_signing_alg_values_supported"] = algs
		}
	}
	if _, ok := md["pushed_authorization_request_endpoint"]; ok {
		methods["pushed_authorization_request_endpoint"] = []string{"private_key_jwt"}
	}
	if len(methods) > 0 {
		md["request_authentication_methods_supported"] = methods
	}
	return md
}

// CheckSigningKey reports whether a PEM file can be a federation signing
// key, for cnsgate check-config.
func CheckSigningKey(data []byte) error {
	_, err := newSigner([][]byte{data})
	return err
}
