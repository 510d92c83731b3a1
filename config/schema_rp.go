package config

// OIDC configures the OpenID Provider and its relying parties.
type OIDC struct {
	// SigningKeys are PEM private key files, RSA (RS256, PS256) and EC
	// P-256 (ES256) side by side; for each algorithm the first key that
	// signs it does, the others stay published in /jwks for rotation. ID
	// tokens are RS256 unless a client registers another algorithm, so
	// keep an RSA key (cnsgate keys generate writes both).
	SigningKeys []string `yaml:"signing_keys"`
	// Keys are signing keys with a rotation state, PEM files or PKCS#11
	// (HSM) keys, after SigningKeys (which are all active): see
	// SigningKey and docs/operations.md, "Signing keys and rotation".
	Keys []SigningKey `yaml:"keys"`
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
	// LogoutConfirmation says when an RP-initiated logout asks the citizen
	// "Vuoi uscire?": without_valid_hint (default: not when the request
	// carries an id_token_hint of the current session), always, never.
	LogoutConfirmation LogoutConfirmation `yaml:"logout_confirmation"`
	// RefreshReuseGrace is how long a rotated refresh token presented again
	// by the same client gets the answer of its first use instead of
	// revoking its family (parallel refreshes of one relying party); default
	// 10s, at most 1m, 0 turns it off.
	RefreshReuseGrace Duration `yaml:"refresh_reuse_grace"`
	// ACRLevels are the acr_values level URIs a card login meets besides
	// urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI (for example
	// https://www.spid.gov.it/SpidL2): the operator decides; default none.
	ACRLevels []string `yaml:"acr_levels"`
	Clients   []Client `yaml:"clients"` // file only
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
	// AllowedOrigins are the browser origins (scheme://host[:port]) whose
	// scripts may call the discovery, /jwks, /token, /userinfo, /revoke and
	// /introspect endpoints (CORS); empty: the origins of redirect_uris.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// TokenEndpointAuthMethod defaults to client_secret_basic.
	TokenEndpointAuthMethod AuthMethod `yaml:"token_endpoint_auth_method"`
	JWKSURI                 string     `yaml:"jwks_uri"` // keys for private_key_jwt
	JWKS                    string     `yaml:"jwks"`     // inline JWK Set (JSON) for private_key_jwt
	// Scopes the client may request; empty means every scope cnsgate
	// supports.
	Scopes      []string    `yaml:"scopes"`
	SubjectType SubjectType `yaml:"subject_type"` // default pairwise
	HomeURL     string      `yaml:"home_url"`     // link under "Servizi attivi"; none when empty
	// IDTokenSignedResponseAlg signs the client's ID tokens and logout
	// tokens: RS256 (default), PS256 or ES256. UserinfoSignedResponseAlg,
	// when set, makes /userinfo answer it a signed JWT (application/jwt).
	// A key of signing_keys must sign each.
	IDTokenSignedResponseAlg  SigningAlg `yaml:"id_token_signed_response_alg"`
	UserinfoSignedResponseAlg SigningAlg `yaml:"userinfo_signed_response_alg"`
	// AccessTokenFormat is opaque (default: a random token resolved by
	// /userinfo and /introspect) or jwt (a signed at+jwt, RFC 9068, for a
	// resource server that reads it itself).
	AccessTokenFormat AccessTokenFormat `yaml:"access_token_format"`
	// AuthorizationResponseISS sends the RFC 9207 iss parameter in the
	// client's authorization responses (default true); false for relying
	// parties that mishandle it (mod_auth_openidc 2.4.12 takes iss on an
	// error response for a new login and loops).
	AuthorizationResponseISS *bool `yaml:"authorization_response_iss"`
	// Audience is who may use the client: citizens, operators or all
	// (default); RequiredRoles are operator roles a login must all hold.
	Audience      Audience `yaml:"audience"`
	RequiredRoles []string `yaml:"required_roles"`
	// Profile is oidc (default), spid or cie: the SPID or CIE id OpenID
	// Connect rules for the client (docs/italian-profile.md).
	Profile ClientProfile `yaml:"profile"`
	// UserinfoEncryptedResponseAlg/Enc encrypt /userinfo to the client's
	// RSA key (jwks or jwks_uri): RSA-OAEP-256 or RSA-OAEP with
	// A128CBC-HS256 or A256CBC-HS512; spid and cie clients default to
	// RSA-OAEP-256 with A256CBC-HS512. IDTokenEncryptedResponseAlg/Enc
	// encrypt its ID tokens (CIE id rules).
	UserinfoEncryptedResponseAlg string `yaml:"userinfo_encrypted_response_alg"`
	UserinfoEncryptedResponseEnc string `yaml:"userinfo_encrypted_response_enc"`
	IDTokenEncryptedResponseAlg  string `yaml:"id_token_encrypted_response_alg"`
	IDTokenEncryptedResponseEnc  string `yaml:"id_token_encrypted_response_enc"`
}

// SAML configures the SAML 2.0 identity provider and its service providers.
type SAML struct {
	CertFile string `yaml:"cert_file"` // signing certificate published in /saml/metadata
	KeyFile  string `yaml:"key_file"`
	// KeyPKCS11 is the signing key of cert_file in a PKCS#11 token (HSM),
	// instead of key_file.
	KeyPKCS11 *PKCS11Key `yaml:"key_pkcs11"`
	// NextCertFile is the next signing certificate: published in
	// /saml/metadata beside cert_file, so that service providers have it
	// before it signs (its key is not needed until it becomes cert_file).
	NextCertFile string `yaml:"next_cert_file"`
	// NameIDSalt keys the persistent NameIDs (opaque, stable per SP and
	// citizen): at least 32 characters, required when service providers are
	// configured, and never changed afterwards (every SP would see new
	// users). NameIDSaltFile reads it from a file.
	NameIDSalt     Secret `yaml:"name_id_salt"`
	NameIDSaltFile string `yaml:"name_id_salt_file"`
	// MetadataValidFor is the validUntil of /saml/metadata (default 30
	// days): an SP that saved it to a file keeps starting for that long.
	// MetadataCacheDuration is its cacheDuration (default 1h): how often an
	// SP that fetches it fetches it again.
	MetadataValidFor      Duration `yaml:"metadata_valid_for"`
	MetadataCacheDuration Duration `yaml:"metadata_cache_duration"`
	// NotBeforeSkew puts an assertion's NotBefore this long before its
	// issue instant (default 60s; 0 sets it at the issue instant).
	NotBeforeSkew    Duration          `yaml:"not_before_skew"`
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
	// RequireSignedRequests refuses AuthnRequests and LogoutRequests
	// without a valid signature (default true; set false only for an SP
	// that cannot sign).
	RequireSignedRequests *bool  `yaml:"require_signed_requests"`
	HomeURL               string `yaml:"home_url"` // link under "Servizi attivi"; none when empty
	// Audience is who may use the SP: citizens, operators or all
	// (default); RequiredRoles are operator roles a login must all hold.
	Audience      Audience `yaml:"audience"`
	RequiredRoles []string `yaml:"required_roles"`
}

// SignedRequests is require_signed_requests with its default (true).
func (sp ServiceProvider) SignedRequests() bool {
	return sp.RequireSignedRequests == nil || *sp.RequireSignedRequests
}
