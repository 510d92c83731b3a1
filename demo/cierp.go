package demo

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// The example relying party of the CIE id OIDC profile: configuration only
// (no server runs it), so that discovery shows what a cie client gets and
// an RP developer can try a request object with its keys. Its keys, made
// once by the demo, are a signing key (request objects, private_key_jwt)
// and an encryption key (userinfo and ID tokens are encrypted to it); the
// private halves stay in the demo directory, the public JWK Set is
// registered inline.
const (
	CIEExampleClientID = "cie-example"
	CIEExampleName     = "Esempio CIE id (profilo cie)"
	// CIEExampleRedirectURL is registered but served by nobody.
	CIEExampleRedirectURL = "https://cie-rp.localhost/callback"
)

// The files of the example cie relying party's keys, under oidc/.
var cieExampleKeys = []struct{ file, use string }{
	{"cie-example-sig.pem", "sig"},
	{"cie-example-enc.pem", "enc"},
}

// ensureCIEExample creates the example cie relying party's keys once.
func (s *Setup) ensureCIEExample() error {
	for _, k := range cieExampleKeys {
		err := createOnce(filepath.Join(s.Dir, oidcDir, k.file), func() ([]byte, error) {
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				return nil, err
			}
			return pemfile.EncodePrivateKey(key)
		})
		if err != nil {
			return fmt.Errorf("demo key %s of %s: %w", k.file, CIEExampleClientID, err)
		}
	}
	return nil
}

// CIEExampleKeyFiles are the private keys of the example cie relying
// party: signing, then encryption.
func (s *Setup) CIEExampleKeyFiles() []string {
	out := make([]string, len(cieExampleKeys))
	for i, k := range cieExampleKeys {
		out[i] = filepath.Join(s.Dir, oidcDir, k.file)
	}
	return out
}

// cieExampleJWKS is the public JWK Set of the example's keys, each with its
// RFC 7638 thumbprint as kid and its use.
func (s *Setup) cieExampleJWKS() (string, error) {
	var keys []map[string]string
	for i, path := range s.CIEExampleKeyFiles() {
		data, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		priv, err := pemfile.PrivateKey(data)
		if err != nil {
			return "", err
		}
		pub, ok := priv.Public().(*rsa.PublicKey)
		if !ok {
			return "", fmt.Errorf("%s is not an RSA key", path)
		}
		n := base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
		e := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
		sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
		keys = append(keys, map[string]string{"kty": "RSA", "n": n, "e": e, "use": cieExampleKeys[i].use,
			"kid": base64.RawURLEncoding.EncodeToString(sum[:])})
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	return string(b), err
}

// writeCIEExampleConfig appends the example cie client to the clients of
// the oidc section.
func (s *Setup) writeCIEExampleConfig(b *strings.Builder) error {
	jwks, err := s.cieExampleJWKS()
	if err != nil {
		return fmt.Errorf("demo %s keys: %w", CIEExampleClientID, err)
	}
	fmt.Fprintf(b, "    - id: %s\n      name: %q\n      profile: cie\n      token_endpoint_auth_method: private_key_jwt\n",
		CIEExampleClientID, CIEExampleName)
	fmt.Fprintf(b, "      jwks: %q\n      redirect_uris: [%q]\n      scopes: [openid, profile, fiscal_number]\n", jwks, CIEExampleRedirectURL)
	fmt.Fprintf(b, "      id_token_encrypted_response_alg: RSA-OAEP-256\n      id_token_encrypted_response_enc: A128CBC-HS256\n")
	fmt.Fprintf(b, "      userinfo_encrypted_response_alg: RSA-OAEP-256\n      userinfo_encrypted_response_enc: A256CBC-HS512\n")
	return nil
}
