package config

// OIDC configures the OpenID Provider and its relying parties.
type OIDC struct {
	// SigningKeys are PEM private key files; the first signs, the others
	// stay published in /jwks for rotation.
	SigningKeys []string `yaml:"signing_keys"`
	// SubjectSalt keys the subject identifiers (sub) derived from the fiscal
	// code, pairwise per client or public: the same salt gives the same
	// subjects across restarts and replicas. At least 32 characters;
	// required when clients are configured.
	SubjectSalt     Secret `yaml:"subject_salt"`
	SubjectSaltFile string `yaml:"subject_salt_file"`
	// AccessTokenLifetime and IDTokenLifetime bound the tokens /token
	// issues; default 5m each. Refresh tokens live as long as the session.
	AccessTokenLifetime Duration `yaml:"access_token_lifetime"`
	IDTokenLifetime     Duration `yaml:"id_token_lifetime"`
	Clients             []Client `yaml:"clients"` // file only
}

// Client is one OIDC relying party.
type Client struct {
	ID                     string   `yaml:"id"`
	Name                   string   `yaml:"name"` // shown to the citizen; defaults to id
	Secret                 Secret   `yaml:"secret"`
	SecretFile             string   `yaml:"secret_file"`
	RedirectURIs           []string `yaml:"redirect_uris"`
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	BackchannelLogoutURI   string   `yaml:"backchannel_logout_uri"`
	// TokenEndpointAuthMethod defaults to client_secret_basic.
	TokenEndpointAuthMethod AuthMethod `yaml:"token_endpoint_auth_method"`
	JWKSURI                 string     `yaml:"jwks_uri"` // keys for private_key_jwt
	JWKS                    string     `yaml:"jwks"`     // inline JWK Set (JSON) for private_key_jwt
	// Scopes the client may request; empty means every scope cnsgate
	// supports.
	Scopes      []string    `yaml:"scopes"`
	SubjectType SubjectType `yaml:"subject_type"` // default pairwise
	HomeURL     string      `yaml:"home_url"`     // link under "Servizi attivi"; none when empty
	// Audience is who may use the client: citizens, operators or all
	// (default); RequiredRoles are operator roles a login must all hold.
	Audience      Audience `yaml:"audience"`
	RequiredRoles []string `yaml:"required_roles"`
}

// SAML configures the SAML 2.0 identity provider and its service providers.
type SAML struct {
	CertFile string `yaml:"cert_file"` // signing certificate published in /saml/metadata
	KeyFile  string `yaml:"key_file"`
	// NameIDSalt keys the persistent NameIDs (opaque, stable per SP and
	// citizen): at least 32 characters, required when service providers are
	// configured, and never changed afterwards (every SP would see new
	// users). NameIDSaltFile reads it from a file.
	NameIDSalt       Secret            `yaml:"name_id_salt"`
	NameIDSaltFile   string            `yaml:"name_id_salt_file"`
	ServiceProviders []ServiceProvider `yaml:"service_providers"` // file only
}

// ServiceProvider is one SAML relying party; its endpoints and keys come
// from its metadata.
type ServiceProvider struct {
	EntityID           string           `yaml:"entity_id"`
	Name               string           `yaml:"name"` // shown to the citizen; defaults to entity_id
	MetadataFile       string           `yaml:"metadata_file"`
	MetadataURL        string           `yaml:"metadata_url"`
	MetadataSignerFile string           `yaml:"metadata_signer_file"` // certificate that must sign the metadata
	AttributeProfile   AttributeProfile `yaml:"attribute_profile"`    // default spid
	NameIDFormat       NameIDFormat     `yaml:"name_id_format"`       // default persistent
	// RequireSignedRequests refuses AuthnRequests without a valid signature.
	RequireSignedRequests bool   `yaml:"require_signed_requests"`
	HomeURL               string `yaml:"home_url"` // link under "Servizi attivi"; none when empty
	// Audience is who may use the SP: citizens, operators or all
	// (default); RequiredRoles are operator roles a login must all hold.
	Audience      Audience `yaml:"audience"`
	RequiredRoles []string `yaml:"required_roles"`
}
