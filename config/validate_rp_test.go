package config

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// testSalt is a subject_salt long enough to validate.
const testSalt = "pairwise-subject-salt-0123456789abcdef"

func TestValidateRelyingParties(t *testing.T) {
	const jwks = `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"ok/valid", func(c *Config) {}, nil},
		{"ok/private-key-jwt", func(c *Config) {
			c.OIDC.Clients[0].TokenEndpointAuthMethod, c.OIDC.Clients[0].Secret, c.OIDC.Clients[0].JWKS = AuthPrivateKeyJWT, "", jwks
		}, nil},
		{"ok/public-client", func(c *Config) {
			c.OIDC.Clients[0].TokenEndpointAuthMethod, c.OIDC.Clients[0].Secret = AuthNone, ""
			c.OIDC.Clients[0].RedirectURIs = []string{"it.example.app:/callback"}
		}, nil},
		{"fail/oidc-without-signing-keys", func(c *Config) { c.OIDC.SigningKeys = nil }, []string{
			"oidc: option 'signing_keys' is required when 'clients' are configured"}},
		{"ok/rotation-keys", func(c *Config) {
			slot := 0
			c.OIDC.SigningKeys = nil
			c.OIDC.Keys = []SigningKey{
				{File: "next.pem", State: KeyNext},
				{PKCS11: &PKCS11Key{Module: "/usr/lib/softhsm/libsofthsm2.so", Slot: &slot, PinFile: "pin", KeyLabel: "rs"}},
				{File: "old.pem", State: KeyRetired, RetireAfter: "2026-12-31T00:00:00Z"},
			}
		}, nil},
		{"fail/rotation-keys", func(c *Config) {
			c.OIDC.SigningKeys = nil
			c.OIDC.Keys = []SigningKey{
				{},
				{File: "a.pem", PKCS11: &PKCS11Key{}, State: "spare"},
				{File: "b.pem", State: KeyNext, RetireAfter: "tomorrow"},
				{PKCS11: &PKCS11Key{Module: "m", TokenLabel: "t", PinFile: "p", KeyLabel: "k"}, State: KeyRetired},
			}
		}, []string{
			"oidc: keys[0]: one of the options 'file' or 'pkcs11' is required",
			"oidc: keys[1]: options 'file' and 'pkcs11' are mutually exclusive",
			"oidc: keys[1]: option 'state' must be one of 'next', 'active', 'retired' but it's configured as 'spare'",
			"oidc: keys[2]: option 'retire_after' must be an RFC 3339 time (2026-12-31T00:00:00Z) but it's configured as 'tomorrow'",
			"oidc: keys[2]: option 'retire_after' is only for a key in state 'retired'"}},
		{"fail/no-active-key", func(c *Config) {
			c.OIDC.SigningKeys, c.OIDC.Keys = nil, []SigningKey{{File: "next.pem", State: KeyNext}}
		}, []string{
			"oidc: an active signing key is required when 'clients' are configured: an item of 'signing_keys', or of 'keys' in state 'active' (the default)"}},
		{"fail/pkcs11-selectors", func(c *Config) {
			slot := 1
			c.SAML.KeyFile, c.SAML.KeyPKCS11 = "", &PKCS11Key{Module: "m", TokenLabel: "t", Slot: &slot}
		}, []string{
			"saml: key_pkcs11: option 'pin_file' is required",
			"saml: key_pkcs11: option 'key_label' is required",
			"saml: key_pkcs11: exactly one of the options 'token_label' or 'slot' is required"}},
		{"ok/no-clients-no-salt", func(c *Config) { c.OIDC.Clients, c.OIDC.SubjectSalt = nil, "" }, nil},
		{"fail/clients-without-subject-salt", func(c *Config) { c.OIDC.SubjectSalt = "" }, []string{
			"oidc: option 'subject_salt' is required when 'clients' are configured"}},
		{"fail/short-subject-salt", func(c *Config) { c.OIDC.SubjectSalt = "short" }, []string{
			"oidc: option 'subject_salt' must be at least 32 characters long but it has 5"}},
		{"fail/token-lifetimes", func(c *Config) { c.OIDC.AccessTokenLifetime, c.OIDC.IDTokenLifetime = 0, -1 }, []string{
			"oidc: option 'access_token_lifetime' must be a positive duration but it's configured as '0s'",
			"oidc: option 'id_token_lifetime' must be a positive duration but it's configured as '-1ns'"}},
		{"ok/logout-refresh-cors", func(c *Config) {
			c.OIDC.LogoutConfirmation, c.OIDC.RefreshReuseGrace = LogoutConfirmNever, 0
			c.OIDC.Clients[0].AllowedOrigins = []string{"http://127.0.0.1:5173", "https://spa.example.it"}
		}, nil},
		{"fail/logout-refresh-cors", func(c *Config) {
			c.OIDC.LogoutConfirmation, c.OIDC.RefreshReuseGrace = "sometimes", Duration(2*time.Minute)
			c.OIDC.Clients[0].AllowedOrigins = []string{"*", "https://spa.example.it/app", "https://spa.example.it/", "ftp://spa.example.it"}
		}, []string{
			"oidc: option 'logout_confirmation' must be one of 'without_valid_hint', 'always', 'never' but it's configured as 'sometimes'",
			"oidc: option 'refresh_reuse_grace' must be between 0s and 1m but it's configured as '2m'",
			"oidc: clients[0]: option 'allowed_origins' must be an absolute URL but it's configured as '*'",
			"oidc: clients[0]: option 'allowed_origins' must be an origin (scheme://host[:port]) but it's configured as 'https://spa.example.it/app'",
			"oidc: clients[0]: option 'allowed_origins' must not end with '/' nor have a query but it's configured as 'https://spa.example.it/'",
			"oidc: clients[0]: option 'allowed_origins' must be a URL with scheme http or https but it's configured as 'ftp://spa.example.it'"}},
		{"fail/client-duplicate-id", func(c *Config) { c.OIDC.Clients[1].ID = "a" }, []string{
			"oidc: clients[1]: option 'id' must be unique but 'a' is also the id of clients[0]"}},
		{"fail/client-without-redirect-uris", func(c *Config) { c.OIDC.Clients[1].RedirectURIs = nil }, []string{
			"oidc: clients[1]: option 'redirect_uris' is required"}},
		{"fail/client-uris", func(c *Config) {
			cl := &c.OIDC.Clients[0]
			cl.ID = ""
			cl.RedirectURIs = []string{"/cb", "https://a/cb#x"}
			cl.PostLogoutRedirectURIs = []string{"a/"}
			cl.BackchannelLogoutURI = "ftp://a/logout"
			cl.HomeURL = "https://user:pw@a/"
			cl.Scopes = []string{"openid", "a b"}
			cl.SubjectType = "anonymous"
		}, []string{
			"oidc: clients[0]: option 'id' is required",
			"oidc: clients[0]: option 'redirect_uris' must be an absolute URL but it's configured as '/cb'",
			"oidc: clients[0]: option 'redirect_uris' must not have a fragment but it's configured as 'https://a/cb#x'",
			"oidc: clients[0]: option 'post_logout_redirect_uris' must be an absolute URL but it's configured as 'a/'",
			"oidc: clients[0]: option 'backchannel_logout_uri' must be a URL with scheme http or https but it's configured as 'ftp://a/logout'",
			"oidc: clients[0]: option 'home_url' must not hold credentials",
			"oidc: clients[0]: option 'scopes' has an invalid item 'a b'",
			"oidc: clients[0]: option 'subject_type' must be one of 'pairwise', 'public' but it's configured as 'anonymous'"}},
		{"fail/client-secret-missing", func(c *Config) {
			c.OIDC.Clients[0].Secret = ""
			c.OIDC.Clients[1].Secret, c.OIDC.Clients[1].TokenEndpointAuthMethod = "", AuthClientSecretPost
		}, []string{
			"oidc: clients[0]: option 'secret' is required when token_endpoint_auth_method is 'client_secret_basic'",
			"oidc: clients[1]: option 'secret' is required when token_endpoint_auth_method is 'client_secret_post'"}},
		{"fail/client-signing-algs", func(c *Config) {
			c.OIDC.Clients[0].IDTokenSignedResponseAlg = "HS256"
			c.OIDC.Clients[1].UserinfoSignedResponseAlg = "none"
		}, []string{
			"oidc: clients[0]: option 'id_token_signed_response_alg' must be one of 'RS256', 'PS256', 'ES256', 'RS512' but it's configured as 'HS256'",
			"oidc: clients[1]: option 'userinfo_signed_response_alg' must be one of 'RS256', 'PS256', 'ES256', 'RS512' but it's configured as 'none'"}},
		{"ok/cie-profile", func(c *Config) {
			cl := &c.OIDC.Clients[0]
			cl.TokenEndpointAuthMethod, cl.Secret, cl.JWKS, cl.Profile = AuthPrivateKeyJWT, "", jwks, ClientProfileCIE
			cl.UserinfoEncryptedResponseAlg, cl.UserinfoEncryptedResponseEnc = "RSA-OAEP", "A128CBC-HS256"
			cl.IDTokenEncryptedResponseAlg = "RSA-OAEP-256"
			c.OIDC.ACRLevels = []string{"https://www.spid.gov.it/SpidL2"}
		}, nil},
		{"fail/client-profile", func(c *Config) {
			c.OIDC.Clients[0].Profile = "eidas"
			c.OIDC.Clients[1].Profile, c.OIDC.Clients[1].SubjectType = ClientProfileSPID, SubjectPublic
			c.OIDC.Clients[1].UserinfoEncryptedResponseAlg, c.OIDC.Clients[1].IDTokenEncryptedResponseEnc = "RSA1_5", "A128GCM"
			c.OIDC.ACRLevels = []string{"SpidL2", ""}
		}, []string{
			"oidc: option 'acr_levels' has an invalid item 'SpidL2' at index 0 (a level URI, such as https://www.spid.gov.it/SpidL2)",
			"oidc: option 'acr_levels' has an invalid item '' at index 1 (a level URI, such as https://www.spid.gov.it/SpidL2)",
			"oidc: clients[0]: option 'profile' must be one of 'oidc', 'spid', 'cie' but it's configured as 'eidas'",
			"oidc: clients[1]: option 'token_endpoint_auth_method' must be 'private_key_jwt' when profile is 'spid'",
			"oidc: clients[1]: option 'subject_type' must be 'pairwise' when profile is 'spid'",
			"oidc: clients[1]: option 'userinfo_encrypted_response_alg' must be one of 'RSA-OAEP-256', 'RSA-OAEP' but it's configured as 'RSA1_5'",
			"oidc: clients[1]: option 'id_token_encrypted_response_enc' must be one of 'A128CBC-HS256', 'A256CBC-HS512' but it's configured as 'A128GCM'",
			"oidc: clients[1]: option 'id_token_encrypted_response_enc' requires 'id_token_encrypted_response_alg'"}},
		{"fail/client-access-token-format", func(c *Config) { c.OIDC.Clients[0].AccessTokenFormat = "JWT" }, []string{
			"oidc: clients[0]: option 'access_token_format' must be one of 'opaque', 'jwt' but it's configured as 'JWT'"}},
		{"fail/client-auth-method", func(c *Config) { c.OIDC.Clients[0].TokenEndpointAuthMethod = "tls_client_auth" }, []string{
			"oidc: clients[0]: option 'token_endpoint_auth_method' must be one of 'client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none' but it's configured as 'tls_client_auth'"}},
		{"fail/private-key-jwt-without-keys", func(c *Config) { c.OIDC.Clients[0].TokenEndpointAuthMethod = AuthPrivateKeyJWT }, []string{
			"oidc: clients[0]: option 'secret' must not be set when token_endpoint_auth_method is 'private_key_jwt'",
			"oidc: clients[0]: one of the options 'jwks' or 'jwks_uri' is required when token_endpoint_auth_method is 'private_key_jwt'"}},
		{"fail/private-key-jwt-bad-keys", func(c *Config) {
			cl := &c.OIDC.Clients[0]
			cl.TokenEndpointAuthMethod, cl.Secret, cl.JWKS, cl.JWKSURI = AuthPrivateKeyJWT, "", `{"keys":[]}`, "http://a/jwks"
		}, []string{
			"oidc: clients[0]: options 'jwks' and 'jwks_uri' are mutually exclusive",
			"oidc: clients[0]: option 'jwks' must be a JSON Web Key Set with at least one key",
			"oidc: clients[0]: option 'jwks_uri' must be a URL with scheme https but it's configured as 'http://a/jwks'"}},
		{"fail/saml-without-key", func(c *Config) { c.SAML.KeyFile = "" }, []string{
			"saml: option 'key_file' is required"}},
		{"fail/saml-half-key-pair", func(c *Config) { c.SAML.ServiceProviders, c.SAML.KeyFile = nil, "" }, []string{
			"saml: options 'cert_file' and 'key_file' must be set together"}},
		{"fail/sp-duplicate-entity-id", func(c *Config) { c.SAML.ServiceProviders[1].EntityID = "https://sp1" }, []string{
			"saml: service_providers[1]: option 'entity_id' must be unique but 'https://sp1' is also the entity_id of service_providers[0]"}},
		{"fail/sp-plain-http-metadata-unsigned", func(c *Config) { c.SAML.ServiceProviders[1].MetadataURL = "http://sp2/metadata" }, []string{
			"saml: service_providers[1]: option 'metadata_signer_file' is required when 'metadata_url' is not https"}},
		{"ok/sp-plain-http-metadata-signed", func(c *Config) {
			c.SAML.ServiceProviders[1].MetadataURL, c.SAML.ServiceProviders[1].MetadataSignerFile = "http://sp2/metadata", "signer.crt"
		}, nil},
		{"fail/sp", func(c *Config) {
			c.SAML.ServiceProviders[0] = ServiceProvider{AttributeProfile: "eidas", NameIDFormat: "email"}
			c.SAML.ServiceProviders[1].MetadataFile = "sp2.xml"
		}, []string{
			"saml: service_providers[0]: option 'entity_id' is required",
			"saml: service_providers[0]: one of the options 'metadata_file' or 'metadata_url' is required",
			"saml: service_providers[0]: option 'attribute_profile' must be one of 'spid', 'oid' but it's configured as 'eidas'",
			"saml: service_providers[0]: option 'name_id_format' must be one of 'persistent', 'transient' but it's configured as 'email'",
			"saml: service_providers[1]: options 'metadata_file' and 'metadata_url' are mutually exclusive"}},
		{"ok/saml-no-skew", func(c *Config) { c.SAML.NotBeforeSkew = 0 }, nil},
		{"fail/saml-metadata-times", func(c *Config) {
			c.SAML.MetadataValidFor, c.SAML.MetadataCacheDuration = Duration(30*time.Minute), Duration(time.Hour)
			c.SAML.NotBeforeSkew = Duration(-time.Second)
		}, []string{
			"saml: option 'metadata_valid_for' must be between 1h and 8784h but it's configured as '30m'",
			"saml: option 'metadata_cache_duration' must not exceed 'metadata_valid_for' but it's configured as '1h'",
			"saml: option 'not_before_skew' must be between 0s and 10m but it's configured as '-1s'"}},
		{"fail/saml-metadata-zero", func(c *Config) { c.SAML.MetadataValidFor, c.SAML.NotBeforeSkew = -1, Duration(11*time.Minute) }, []string{
			"saml: option 'metadata_valid_for' must be a positive duration but it's configured as '-1ns'",
			"saml: option 'not_before_skew' must be between 0s and 10m but it's configured as '11m'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid(t)
			tt.mutate(c)
			if got := problemsOf(t, c.Validate()); !slices.Equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// TestClientResponseISSDefault: a client sends RFC 9207 iss unless it
// says authorization_response_iss: false.
func TestClientResponseISSDefault(t *testing.T) {
	example := regexp.MustCompile(`(?m)^ +authorization_response_iss:.*\n`).ReplaceAllString(string(Example()), "")
	for name, tt := range map[string]struct {
		line string
		want bool
	}{
		"ok/explicit-false": {"      authorization_response_iss: false\n", false},
		"ok/explicit-true":  {"      authorization_response_iss: true\n", true},
		"ok/default-true":   {"", true},
	} {
		t.Run(name, func(t *testing.T) {
			doc := strings.Replace(example, "      home_url: https://esenzioni", tt.line+"      home_url: https://esenzioni", 1)
			c := newBase()
			if err := yaml.Unmarshal([]byte(doc), c); err != nil {
				t.Fatal(err)
			}
			c.applyDefaults()
			if got := c.OIDC.Clients[0].AuthorizationResponseISS; got == nil || *got != tt.want {
				t.Fatalf("authorization_response_iss = %v, want %v", got, tt.want)
			}
		})
	}
}
