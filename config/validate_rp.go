package config

import (
	"strings"
	"time"
)

func (o OIDC) validate(p *problems) {
	o.validateKeys(p)
	for i, k := range o.SigningKeys {
		if k == "" {
			p.add("oidc", "option 'signing_keys' has an empty item at index %d", i)
		}
	}
	salt(p, "oidc", "subject_salt", o.SubjectSalt, o.SubjectSaltFile, "clients", len(o.Clients) > 0)
	positive(p, "oidc", "access_token_lifetime", o.AccessTokenLifetime)
	positive(p, "oidc", "id_token_lifetime", o.IDTokenLifetime)
	oneOf(p, "oidc", "logout_confirmation", o.LogoutConfirmation, logoutConfirms)
	if o.RefreshReuseGrace < 0 || o.RefreshReuseGrace.Std() > MaxRefreshGrace {
		p.add("oidc", "option 'refresh_reuse_grace' must be between 0s and %s but it's configured as '%s'", Duration(MaxRefreshGrace), o.RefreshReuseGrace)
	}
	for i, l := range o.ACRLevels {
		if l == "" || strings.ContainsAny(l, " \t\"") || !strings.Contains(l, ":") {
			p.add("oidc", "option 'acr_levels' has an invalid item '%s' at index %d (a level URI, such as https://www.spid.gov.it/SpidL2)", l, i)
		}
	}
	seen := map[string]int{}
	for i, c := range o.Clients {
		path := item("oidc.clients", i)
		unique(p, seen, path, "id", c.ID, "clients", i)
		c.validate(p, path)
	}
}

func (c Client) validate(p *problems, path string) {
	required(p, path, "id", c.ID)
	c.validateURLs(p, path)
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\"\\") {
			p.add(path, "option 'scopes' has an invalid item '%s'", s)
		}
	}
	oneOf(p, path, "subject_type", c.SubjectType, subjectTypes)
	oneOf(p, path, "access_token_format", c.AccessTokenFormat, accessFormats)
	if c.IDTokenSignedResponseAlg != "" {
		oneOf(p, path, "id_token_signed_response_alg", c.IDTokenSignedResponseAlg, signingAlgs)
	}
	if c.UserinfoSignedResponseAlg != "" {
		oneOf(p, path, "userinfo_signed_response_alg", c.UserinfoSignedResponseAlg, signingAlgs)
	}
	c.validateProfile(p, path)
	if !oneOf(p, path, "token_endpoint_auth_method", c.TokenEndpointAuthMethod, authMethods) {
		return
	}
	c.validateAuth(p, path)
}

// validateProfile checks the client's profile and encryption settings: a
// spid or cie client authenticates with private_key_jwt (its keys also
// verify its request objects and take its encrypted responses).
func (c Client) validateProfile(p *problems, path string) {
	if c.Profile != "" {
		oneOf(p, path, "profile", c.Profile, clientProfiles)
	}
	if c.Profile.Italian() && c.TokenEndpointAuthMethod != AuthPrivateKeyJWT {
		p.add(path, "option 'token_endpoint_auth_method' must be 'private_key_jwt' when profile is '%s'", c.Profile)
	}
	if c.Profile.Italian() && c.SubjectType == SubjectPublic {
		p.add(path, "option 'subject_type' must be 'pairwise' when profile is '%s'", c.Profile)
	}
	for _, e := range []struct{ name, alg, enc string }{
		{"userinfo_encrypted_response", c.UserinfoEncryptedResponseAlg, c.UserinfoEncryptedResponseEnc},
		{"id_token_encrypted_response", c.IDTokenEncryptedResponseAlg, c.IDTokenEncryptedResponseEnc},
	} {
		if e.alg != "" {
			oneOf(p, path, e.name+"_alg", e.alg, keyEncAlgs)
		}
		if e.enc != "" {
			oneOf(p, path, e.name+"_enc", e.enc, contentEncAlgs)
			if e.alg == "" {
				p.add(path, "option '%s_enc' requires '%s_alg'", e.name, e.name)
			}
		}
	}
}

// validateURLs checks the client's redirect, logout and home addresses.
func (c Client) validateURLs(p *problems, path string) {
	if len(c.RedirectURIs) == 0 {
		p.add(path, "option 'redirect_uris' is required")
	}
	// Redirect URIs may use a custom scheme (native applications).
	for _, u := range c.RedirectURIs {
		absURL(p, path, "redirect_uris", u, urlRule{})
	}
	for _, u := range c.PostLogoutRedirectURIs {
		absURL(p, path, "post_logout_redirect_uris", u, urlRule{})
	}
	if c.BackchannelLogoutURI != "" {
		absURL(p, path, "backchannel_logout_uri", c.BackchannelLogoutURI, httpURL)
	}
	for _, o := range c.AllowedOrigins {
		// Never "*": a browser origin is named exactly.
		absURL(p, path, "allowed_origins", o, urlRule{schemes: httpURL.schemes, originOnly: true, noSlash: true})
	}
	if c.HomeURL != "" {
		absURL(p, path, "home_url", c.HomeURL, httpURL)
	}
}

// validateAuth checks that the client has what its token endpoint
// authentication method needs, and nothing it must not have.
func (c Client) validateAuth(p *problems, path string) {
	m := c.TokenEndpointAuthMethod
	switch m {
	case AuthClientSecretBasic, AuthClientSecretPost:
		// A secret_file that could not be read is already reported.
		if c.Secret == "" && c.SecretFile == "" {
			p.add(path, "option 'secret' is required when token_endpoint_auth_method is '%s'", m)
		}
	default:
		if c.Secret != "" || c.SecretFile != "" {
			p.add(path, "option 'secret' must not be set when token_endpoint_auth_method is '%s'", m)
		}
	}
	if m == AuthPrivateKeyJWT {
		switch {
		case c.JWKS == "" && c.JWKSURI == "":
			p.add(path, "one of the options 'jwks' or 'jwks_uri' is required when token_endpoint_auth_method is 'private_key_jwt'")
		case c.JWKS != "" && c.JWKSURI != "":
			p.add(path, "options 'jwks' and 'jwks_uri' are mutually exclusive")
		}
	}
	if c.JWKS != "" && !validJWKS(c.JWKS) {
		p.add(path, "option 'jwks' must be a JSON Web Key Set with at least one key")
	}
	if c.JWKSURI != "" {
		absURL(p, path, "jwks_uri", c.JWKSURI, httpsURL)
	}
}

func (s SAML) validate(p *problems) {
	salt(p, "saml", "name_id_salt", s.NameIDSalt, s.NameIDSaltFile, "service_providers", len(s.ServiceProviders) > 0)
	hasKey := s.KeyFile != "" || s.KeyPKCS11 != nil
	switch {
	case s.KeyFile != "" && s.KeyPKCS11 != nil:
		p.add("saml", "options 'key_file' and 'key_pkcs11' are mutually exclusive")
	case len(s.ServiceProviders) > 0:
		required(p, "saml", "cert_file", s.CertFile)
		if !hasKey {
			required(p, "saml", "key_file", s.KeyFile)
		}
	case (s.CertFile == "") != !hasKey:
		p.add("saml", "options 'cert_file' and 'key_file' must be set together")
	}
	if s.KeyPKCS11 != nil {
		s.KeyPKCS11.validate(p, "saml.key_pkcs11")
	}
	if s.NextCertFile != "" && s.CertFile == "" {
		p.add("saml", "option 'next_cert_file' needs 'cert_file'")
	}
	s.validateTimes(p)
	seen := map[string]int{}
	for i, sp := range s.ServiceProviders {
		path := item("saml.service_providers", i)
		unique(p, seen, path, "entity_id", sp.EntityID, "service_providers", i)
		sp.validate(p, path)
	}
}

// validateTimes checks the metadata validity and the assertions' clock
// skew: /saml/metadata valid for at least an hour and no more than a year,
// fetched again within its validity; NotBefore at most 10 minutes back.
func (s SAML) validateTimes(p *problems) {
	valid := positive(p, "saml", "metadata_valid_for", s.MetadataValidFor)
	if valid && (s.MetadataValidFor.Std() < time.Hour || s.MetadataValidFor.Std() > 366*24*time.Hour) {
		p.add("saml", "option 'metadata_valid_for' must be between 1h and 8784h but it's configured as '%s'", s.MetadataValidFor)
	}
	if positive(p, "saml", "metadata_cache_duration", s.MetadataCacheDuration) && valid && s.MetadataCacheDuration > s.MetadataValidFor {
		p.add("saml", "option 'metadata_cache_duration' must not exceed 'metadata_valid_for' but it's configured as '%s'", s.MetadataCacheDuration)
	}
	if s.NotBeforeSkew < 0 || s.NotBeforeSkew.Std() > 10*time.Minute {
		p.add("saml", "option 'not_before_skew' must be between 0s and 10m but it's configured as '%s'", s.NotBeforeSkew)
	}
}

func (sp ServiceProvider) validate(p *problems, path string) {
	required(p, path, "entity_id", sp.EntityID)
	switch {
	case sp.MetadataFile == "" && sp.MetadataURL == "":
		p.add(path, "one of the options 'metadata_file' or 'metadata_url' is required")
	case sp.MetadataFile != "" && sp.MetadataURL != "":
		p.add(path, "options 'metadata_file' and 'metadata_url' are mutually exclusive")
	case sp.MetadataURL != "":
		u := absURL(p, path, "metadata_url", sp.MetadataURL, httpURL)
		// Metadata over plain http is trusted only when signed.
		if u != nil && strings.EqualFold(u.Scheme, "http") && sp.MetadataSignerFile == "" {
			p.add(path, "option 'metadata_signer_file' is required when 'metadata_url' is not https")
		}
	}
	oneOf(p, path, "attribute_profile", sp.AttributeProfile, attributeProfiles)
	oneOf(p, path, "name_id_format", sp.NameIDFormat, nameIDFormats)
	if sp.HomeURL != "" {
		absURL(p, path, "home_url", sp.HomeURL, httpURL)
	}
}

// unique reports value when an earlier item of list (recorded in seen) has
// the same key; empty values are left to the "required" check.
func unique(p *problems, seen map[string]int, path, key, value, list string, i int) {
	if value == "" {
		return
	}
	if j, dup := seen[value]; dup {
		p.add(path, "option '%s' must be unique but '%s' is also the %s of %s[%d]", key, value, key, list, j)
		return
	}
	seen[value] = i
}

// salt checks a pseudonymisation salt: required when users of it are
// configured (list), and long enough. A *_file that could not be read is
// already reported.
func salt(p *problems, section, key string, v Secret, file, list string, needed bool) {
	switch n := len(v.Value()); {
	case n == 0 && needed && file == "":
		p.add(section, "option '%s' is required when '%s' are configured", key, list)
	case n > 0 && n < MinSubjectSaltLength:
		p.add(section, "option '%s' must be at least %d characters long but it has %d", key, MinSubjectSaltLength, n)
	}
}
