package config

import (
	"strings"
	"time"
)

// The federation's bounds and defaults.
const (
	DefaultFederationLifetime = 24 * time.Hour
	DefaultFederationChain    = 5
	MinFederationChain        = 3
	MaxFederationChain        = 10
)

// federationProfiles are the profiles a federated relying party may get.
var federationProfiles = []string{"oidc", "spid", "cie"}

// applyFederationDefaults fills the defaults of a configured federation.
func (c *Config) applyFederationDefaults() {
	f := &c.Federation
	if !f.Enabled() {
		return
	}
	setString(&f.EntityID, c.Issuer)
	setDuration(&f.Lifetime, DefaultFederationLifetime)
	setString(&f.Profile, "oidc")
	if f.MaxChainLength == 0 {
		f.MaxChainLength = DefaultFederationChain
	}
}

func (c *Config) validateFederation(p *problems) {
	f := c.Federation
	if !f.Enabled() {
		if len(f.SigningKeys) > 0 || len(f.AuthorityHints) > 0 || len(f.TrustMarks) > 0 || f.EntityID != "" {
			p.add(fedSection, "option 'trust_anchors' is required when federation is configured")
		}
		return
	}
	if len(c.OIDC.SigningKeys) == 0 || len(c.OIDC.SubjectSalt.Value()) < 32 {
		p.add(fedSection, "federation needs the OpenID Provider: configure oidc.signing_keys and oidc.subject_salt")
	}
	f.validateEntity(p)
	f.validateAnchors(p)
	f.validateMarks(p)
}

const fedSection = "federation"

// validateEntity checks the provider's own settings.
func (f Federation) validateEntity(p *problems) {
	const sec = fedSection
	if f.EntityID != "" {
		absURL(p, sec, "entity_id", f.EntityID, urlRule{schemes: httpURL.schemes, noSlash: true})
	}
	if len(f.SigningKeys) == 0 {
		p.add(sec, "option 'signing_keys' is required: the federation keys, apart from oidc.signing_keys")
	}
	for i, k := range f.SigningKeys {
		if k == "" {
			p.add(sec, "option 'signing_keys' has an empty item at index %d", i)
		}
	}
	if len(f.AuthorityHints) == 0 {
		p.add(sec, "option 'authority_hints' is required: the entity identifiers of the provider's superiors")
	}
	for _, h := range f.AuthorityHints {
		absURL(p, sec, "authority_hints", h, httpsURL)
	}
	positive(p, sec, "lifetime", f.Lifetime)
	oneOf(p, sec, "profile", f.Profile, federationProfiles)
	if f.MaxChainLength < MinFederationChain || f.MaxChainLength > MaxFederationChain {
		p.add(sec, "option 'max_chain_length' must be between %d and %d but it's configured as '%d'", MinFederationChain, MaxFederationChain, f.MaxChainLength)
	}
	for _, u := range []struct{ key, v string }{{"homepage_uri", f.HomepageURI}, {"policy_uri", f.PolicyURI}, {"logo_uri", f.LogoURI}} {
		if u.v != "" {
			absURL(p, sec, u.key, u.v, httpURL)
		}
	}
}

// validateAnchors checks each trust anchor: an https entity id, once, and
// its keys inline or in a file.
func (f Federation) validateAnchors(p *problems) {
	seen := map[string]int{}
	for i, ta := range f.TrustAnchors {
		path := item("federation.trust_anchors", i)
		if required(p, path, "entity_id", ta.EntityID) {
			absURL(p, path, "entity_id", ta.EntityID, httpsURL)
		}
		unique(p, seen, path, "entity_id", ta.EntityID, "trust_anchors", i)
		switch {
		case ta.JWKS != "" && ta.JWKSFile != "":
			p.add(path, "options 'jwks' and 'jwks_file' are mutually exclusive")
		case ta.JWKS == "" && ta.JWKSFile == "":
			p.add(path, "option 'jwks' or 'jwks_file' is required: the trust anchor's federation keys")
		case ta.JWKS != "" && !validJWKS(ta.JWKS):
			p.add(path, "option 'jwks' must be a JWK Set (JSON with a non-empty \"keys\" list)")
		}
	}
}

// validateMarks checks each trust mark: its type and a JWT.
func (f Federation) validateMarks(p *problems) {
	for i, tm := range f.TrustMarks {
		path := item("federation.trust_marks", i)
		if required(p, path, "trust_mark_type", tm.Type) {
			absURL(p, path, "trust_mark_type", tm.Type, httpURL)
		}
		if required(p, path, "trust_mark", tm.TrustMark) && strings.Count(tm.TrustMark, ".") != 2 {
			p.add(path, "option 'trust_mark' must be a signed JWT (three dot-separated parts)")
		}
	}
}
