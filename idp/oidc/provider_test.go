package oidc_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/sessions"
)

// TestNewRefuses: the provider does not start on a configuration it
// cannot serve, and says why.
func TestNewRefuses(t *testing.T) {
	keys, err := signingKeys()
	if err != nil {
		t.Fatal(err)
	}
	files := func(name string) ([]byte, error) {
		if b, ok := keys[name]; ok {
			return b, nil
		}
		if name == "bad.pem" {
			return []byte("-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	good := oidc.Client{ID: "a", Secret: "s", RedirectURIs: []string{"https://a/cb"}, AuthMethod: oidc.AuthClientSecretBasic}
	tests := []struct {
		name string
		o    oidc.Options
		want string
		is   error
	}{
		{"fail/no-keys", oidc.Options{SubjectSalt: []byte(testSalt)}, "no signing key", oidc.ErrBadKey},
		{"fail/missing-key-file", oidc.Options{SigningKeys: []string{"missing.pem"}}, "missing.pem", fs.ErrNotExist},
		{"fail/not-a-key", oidc.Options{SigningKeys: []string{"bad.pem"}}, "not a private key", oidc.ErrBadKey},
		{"fail/no-salt", oidc.Options{SigningKeys: []string{"es256.pem"}, Clients: []oidc.Client{good}}, "subject_salt", nil},
		{"fail/duplicate-client", oidc.Options{SigningKeys: []string{"es256.pem"}, SubjectSalt: []byte(testSalt),
			Clients: []oidc.Client{good, good}}, "duplicate id", oidc.ErrBadClient},
		{"fail/bad-inline-jwks", oidc.Options{SigningKeys: []string{"es256.pem"}, SubjectSalt: []byte(testSalt), Clients: []oidc.Client{{
			ID: "b", RedirectURIs: []string{"https://b/cb"}, AuthMethod: oidc.AuthPrivateKeyJWT, JWKS: `{"keys":[{"kty":"nope"}]}`,
		}}}, "jwks", oidc.ErrBadClient},
		// The rules of client settings (a secret for the secret methods,
		// redirect URI syntax, ...) are config.Validate's: see
		// config/validate_rp_test.go. The provider refuses what it cannot
		// build.
		{"fail/es256-without-ec-key", oidc.Options{SigningKeys: []string{"rs256.pem"}, SubjectSalt: []byte(testSalt), Clients: []oidc.Client{{
			ID: "d", RedirectURIs: []string{"https://d/cb"}, AuthMethod: oidc.AuthNone, IDTokenSignedResponseAlg: oidc.AlgES256,
		}}}, "id_token_signed_response_alg is ES256 but no signing key signs it: add an EC P-256 key", oidc.ErrBadClient},
		{"fail/userinfo-rs256-without-rsa-key", oidc.Options{SigningKeys: []string{"es256.pem"}, SubjectSalt: []byte(testSalt), Clients: []oidc.Client{{
			ID: "e", RedirectURIs: []string{"https://e/cb"}, AuthMethod: oidc.AuthNone, UserinfoSignedResponseAlg: oidc.AlgRS256,
		}}}, "userinfo_signed_response_alg is RS256 but no signing key signs it: add an RSA key", oidc.ErrBadClient},
		{"fail/unsupported-alg", oidc.Options{SigningKeys: []string{"rs256.pem"}, SubjectSalt: []byte(testSalt), Clients: []oidc.Client{{
			ID: "f", RedirectURIs: []string{"https://f/cb"}, AuthMethod: oidc.AuthNone, IDTokenSignedResponseAlg: "HS256",
		}}}, `id_token_signed_response_alg "HS256" is not supported`, oidc.ErrBadClient},
		{"fail/unknown-method", oidc.Options{SigningKeys: []string{"es256.pem"}, SubjectSalt: []byte(testSalt), Clients: []oidc.Client{{
			ID: "c", RedirectURIs: []string{"https://c/cb"}, AuthMethod: "tls_client_auth",
		}}}, "not supported", oidc.ErrBadClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := sessions.NewMemory(sessions.MemoryOptions{SweepInterval: -1})
			svc := idp.NewService(idp.Deps{Sessions: mem, Ephemeral: mem.Ephemeral()}, idp.Options{Issuer: "https://login.example"})
			tt.o.ReadFile = files
			_, err := oidc.New(svc, mem, mem.Ephemeral(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
