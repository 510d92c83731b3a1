package config

// Federation makes the OpenID Provider a leaf entity of an OpenID
// Federation 1.0 (the SPID and CIE id OpenID Connect federations): its
// entity configuration at /.well-known/openid-federation, and the automatic
// registration of relying parties whose client_id is their entity
// identifier and whose trust chain resolves to one of TrustAnchors. Off
// unless trust_anchors is set; it needs the oidc section.
type Federation struct {
	// EntityID is the provider's entity identifier; default (and usually)
	// the issuer.
	EntityID string `yaml:"entity_id"`
	// SigningKeys are PEM private key files (RSA or EC P-256) signing the
	// entity configuration, apart from oidc.signing_keys: the first signs,
	// every one is published, so that a next key is announced before it
	// signs and a retired one stays until the statements it signed expire.
	SigningKeys []string `yaml:"signing_keys"`
	// AuthorityHints are the entity identifiers of the provider's
	// superiors (an intermediate or the trust anchor).
	AuthorityHints []string      `yaml:"authority_hints"`
	TrustAnchors   []TrustAnchor `yaml:"trust_anchors"` // file only
	TrustMarks     []TrustMark   `yaml:"trust_marks"`   // file only
	// Lifetime is how long the entity configuration is valid after it is
	// signed; default 24h.
	Lifetime Duration `yaml:"lifetime"`
	// The federation_entity metadata of the entity configuration.
	OrganizationName string   `yaml:"organization_name"`
	Contacts         []string `yaml:"contacts"`
	HomepageURI      string   `yaml:"homepage_uri"`
	PolicyURI        string   `yaml:"policy_uri"`
	LogoURI          string   `yaml:"logo_uri"`
	// Profile is the profile of every federated relying party: oidc
	// (default), spid or cie.
	Profile string `yaml:"profile"`
	// MaxChainLength caps the statements of a relying party's trust chain,
	// its own and the anchor's entity configurations included; default 5
	// (two intermediates), between 3 and 10.
	MaxChainLength int `yaml:"max_chain_length"`
	// AllowPrivateAddresses lets the fetches of trust chains reach
	// loopback, private and link-local addresses; default false: a
	// client_id, chosen by whoever calls /authorize, must not make cnsgate
	// probe its own network. True only for a federation on an internal
	// network.
	AllowPrivateAddresses bool `yaml:"allow_private_addresses"`
}

// TrustAnchor is a trust anchor the provider accepts chains to: its entity
// identifier and its federation keys, a JWK Set given inline or in a file.
type TrustAnchor struct {
	EntityID string `yaml:"entity_id"`
	JWKS     string `yaml:"jwks"`
	JWKSFile string `yaml:"jwks_file"`
}

// TrustMark is a trust mark issued to the provider, published as given.
type TrustMark struct {
	Type      string `yaml:"trust_mark_type"`
	TrustMark string `yaml:"trust_mark"` // the signed JWT
}

// Enabled reports whether the federation is configured.
func (f Federation) Enabled() bool { return len(f.TrustAnchors) > 0 }
