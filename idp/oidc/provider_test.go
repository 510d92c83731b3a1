package oidc_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/config"
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
	good := config.Client{ID: "a", Secret: "s", RedirectURIs: []string{"https://a/cb"}}
	tests := []struct {
		name string
		cfg  config.OIDC
		want string
		is   error
	}{
		{"fail/no-keys", config.OIDC{SubjectSalt: testSalt}, "no signing key", oidc.ErrBadKey},
		{"fail/missing-key-file", config.OIDC{SigningKeys: []string{"missing.pem"}}, "missing.pem", fs.ErrNotExist},
		{"fail/not-a-key", config.OIDC{SigningKeys: []string{"bad.pem"}}, "not a private key", oidc.ErrBadKey},
		{"fail/no-salt", config.OIDC{SigningKeys: []string{"es256.pem"}, Clients: []config.Client{good}}, "subject_salt", nil},
		{"fail/duplicate-client", config.OIDC{SigningKeys: []string{"es256.pem"}, SubjectSalt: testSalt,
			Clients: []config.Client{good, good}}, "duplicate id", oidc.ErrBadClient},
		{"fail/bad-inline-jwks", config.OIDC{SigningKeys: []string{"es256.pem"}, SubjectSalt: testSalt, Clients: []config.Client{{
			ID: "b", RedirectURIs: []string{"https://b/cb"}, TokenEndpointAuthMethod: config.AuthPrivateKeyJWT, JWKS: `{"keys":[{"kty":"nope"}]}`,
		}}}, "jwks", oidc.ErrBadClient},
		{"fail/secret-method-without-secret", config.OIDC{SigningKeys: []string{"es256.pem"}, SubjectSalt: testSalt, Clients: []config.Client{{
			ID: "c", RedirectURIs: []string{"https://c/cb"}, TokenEndpointAuthMethod: config.AuthClientSecretPost,
		}}}, "without a secret", oidc.ErrBadClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := sessions.NewMemory(sessions.MemoryOptions{SweepInterval: -1})
			svc := idp.NewService(idp.Deps{Sessions: mem, Ephemeral: mem.Ephemeral()}, idp.Options{Issuer: "https://login.example"})
			_, err := oidc.New(tt.cfg, svc, mem, mem.Ephemeral(), oidc.Options{ReadFile: files})
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
