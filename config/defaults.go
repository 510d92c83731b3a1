package config

import (
	_ "embed"
	"time"
)

// The defaults, applied to every option left at its zero value.
const (
	DefaultListenPublic     = ":8443"
	DefaultListenCNS        = ":8444"
	DefaultListenAdmin      = "127.0.0.1:9464"
	DefaultCNSMaxVersion    = "1.2"
	DefaultMinRSABits       = 2048
	DefaultMaxIntermediates = 4
	MaxIntermediatesLimit   = 7 // trust.max_intermediates at most: a proxy header carries the leaf and 7 more
	DefaultMaxSigChecks     = 16
	MinSigChecksLimit       = 2  // trust.max_signature_checks at least: a CIE card needs two
	MaxSigChecksLimit       = 64 // and at most: a refusal stays within a few logins' CPU
	DefaultOCSPTimeout      = 2 * time.Second
	DefaultCRLGrace         = time.Hour
	DefaultCRLMaxBytes      = 64 << 20
	DefaultCRLFetchTimeout  = 30 * time.Second
	DefaultTSLRefresh       = 12 * time.Hour
	DefaultTSLFetchTimeout  = 30 * time.Second
	DefaultTSLMaxBytes      = 16 << 20
	DefaultIdleTimeout      = 15 * time.Minute
	DefaultAbsoluteTimeout  = 8 * time.Hour
	DefaultSQLiteDSN        = "file:cnsgate.db"
	DefaultAuditRetention   = 365 * 24 * time.Hour
	DefaultAuditCheckpoint  = time.Hour
	DefaultAuditSyslogQueue = 10000
	DefaultLogLevel         = "info"
	DefaultLogFormat        = "json"
	DefaultWebTimezone      = "Europe/Rome"
	DefaultTokenLifetime    = 5 * time.Minute  // oidc access and ID tokens
	DefaultRefreshGrace     = 10 * time.Second // oidc.refresh_reuse_grace
	MaxRefreshGrace         = time.Minute
	DefaultRegistryTimeout  = 2 * time.Second
	DefaultRegistryMaxConns = 16
	// DefaultConsentVersion is registration.consent_version's default.
	DefaultConsentVersion   = "1"
	DefaultShutdownDrain    = 5 * time.Second
	DefaultHSTSMaxAge       = 365 * 24 * time.Hour // max-age=31536000
	DefaultShutdownTimeout  = 15 * time.Second
	DefaultPendingMax       = 10000
	DefaultPendingTTL       = 10 * time.Minute
	DefaultPendingPerIPRate = 60 // per minute
	DefaultPendingBurst     = 20
	DefaultTrackedIPs       = 10000
	MinSubjectSaltLength    = 32
	// The saml section's: /saml/metadata valid for 30 days (file-based SPs)
	// and fetched again hourly; assertions valid from 60 s before issue.
	DefaultSAMLMetadataValidFor      = 30 * 24 * time.Hour
	DefaultSAMLMetadataCacheDuration = time.Hour
	DefaultSAMLNotBeforeSkew         = 60 * time.Second
	PolicyCNSAuthentication          = "1.3.76.16.2.1" // CNS authentication certificate
	PolicyCIE                        = "1.3.76.47.4"   // Carta d'Identità Elettronica
)

// DefaultPolicies returns the default trust.policies.
func DefaultPolicies() []string { return []string{PolicyCNSAuthentication, PolicyCIE} }

// Default returns a configuration holding every default. It does not
// validate: issuer, cns_origin, the TLS files and a trust source have no
// default.
func Default() *Config {
	c := newBase()
	c.applyDefaults()
	return c
}

// newBase is the configuration the YAML is decoded onto: the booleans whose
// default is true and the durations whose zero is a valid choice, which
// applyDefaults cannot tell from an explicit false or 0.
func newBase() *Config {
	c := &Config{}
	c.Trust.RequireClientAuthEKU = true
	c.Login.ConfirmRelease = true
	c.Shutdown.Drain = Duration(DefaultShutdownDrain)
	c.TLS.HSTSMaxAge = Duration(DefaultHSTSMaxAge)
	c.OIDC.RefreshReuseGrace = Duration(DefaultRefreshGrace)
	c.SAML.NotBeforeSkew = Duration(DefaultSAMLNotBeforeSkew)
	return c
}

// applyDefaults fills every zero-valued option that has a default.
func (c *Config) applyDefaults() {
	setString(&c.Listen.Public, DefaultListenPublic)
	setString(&c.Listen.CNS, DefaultListenCNS)
	setString(&c.Listen.Admin, DefaultListenAdmin)
	setString(&c.Console.Role, DefaultConsoleRole)
	setString(&c.TLS.CNSMaxVersion, DefaultCNSMaxVersion)
	setString(&c.Proxy.ForwardedHeader, ForwardedXFF)

	if len(c.Trust.Policies) == 0 {
		c.Trust.Policies = DefaultPolicies()
	}
	if c.Trust.MinRSABits == 0 {
		c.Trust.MinRSABits = DefaultMinRSABits
	}
	if c.Trust.MaxIntermediates == 0 {
		c.Trust.MaxIntermediates = DefaultMaxIntermediates
	}
	if c.Trust.MaxSignatureChecks == 0 {
		c.Trust.MaxSignatureChecks = DefaultMaxSigChecks
	}
	setDuration(&c.Trust.TSLRefresh, DefaultTSLRefresh)
	setDuration(&c.Trust.TSLFetchTimeout, DefaultTSLFetchTimeout)
	if c.Trust.TSLMaxBytes == 0 {
		c.Trust.TSLMaxBytes = DefaultTSLMaxBytes
	}

	r := &c.Revocation
	setString(&r.Mode, RevocationCRLThenOCSP)
	setString(&r.Failure, FailClosed)
	setString(&r.FollowRedirects, RedirectNone)
	setDuration(&r.OCSPTimeout, DefaultOCSPTimeout)
	setDuration(&r.CRLGrace, DefaultCRLGrace)
	setDuration(&r.CRLFetchTimeout, DefaultCRLFetchTimeout)
	if r.CRLMaxBytes == 0 {
		r.CRLMaxBytes = DefaultCRLMaxBytes
	}

	s := &c.Sessions
	setString(&s.Store, StoreMemory)
	setDuration(&s.IdleTimeout, DefaultIdleTimeout)
	setDuration(&s.AbsoluteTimeout, DefaultAbsoluteTimeout)

	setString(&c.Registry.Driver, DriverSQLite)
	// The DSN default is SQLite's; a postgres DSN, or one given in a file,
	// has none.
	if c.Registry.Driver == DriverSQLite && c.Registry.DSN == "" && c.Registry.DSNFile == "" {
		c.Registry.DSN = DefaultSQLiteDSN
	}
	setDuration(&c.Registry.Timeout, DefaultRegistryTimeout)
	setInt(&c.Registry.MaxConns, DefaultRegistryMaxConns)
	setInt(&c.Registry.MaxIdleConns, c.Registry.MaxConns)
	setString(&c.Registration.Mode, RegistrationOpen)
	setString(&c.Registration.ConsentVersion, DefaultConsentVersion)

	c.applyRelyingPartyDefaults()
	c.applyFederationDefaults()

	setString(&c.Audit.Sink, AuditBoth)
	setDuration(&c.Audit.Retention, DefaultAuditRetention)
	setDuration(&c.Audit.CheckpointInterval, DefaultAuditCheckpoint)
	if c.Audit.Syslog.Queue == 0 {
		c.Audit.Syslog.Queue = DefaultAuditSyslogQueue
	}
	setString(&c.Log.Level, DefaultLogLevel)
	setString(&c.Log.Format, DefaultLogFormat)
	setString(&c.Web.Timezone, DefaultWebTimezone)
	setDuration(&c.Shutdown.Timeout, DefaultShutdownTimeout)

	l := &c.Limits
	setInt(&l.PendingMax, DefaultPendingMax)
	setDuration(&l.PendingTTL, DefaultPendingTTL)
	setInt(&l.PendingPerIPRate, DefaultPendingPerIPRate)
	setInt(&l.PendingPerIPBurst, DefaultPendingBurst)
	setInt(&l.TrackedIPs, DefaultTrackedIPs)
}

// applyRelyingPartyDefaults fills the defaults of oidc and saml and of
// each of their relying parties.
func (c *Config) applyRelyingPartyDefaults() {
	setDuration(&c.OIDC.AccessTokenLifetime, DefaultTokenLifetime)
	setDuration(&c.OIDC.IDTokenLifetime, DefaultTokenLifetime)
	setString(&c.OIDC.LogoutConfirmation, LogoutConfirmWithoutValidHint)
	for i := range c.OIDC.Clients {
		cl := &c.OIDC.Clients[i]
		setString(&cl.TokenEndpointAuthMethod, AuthClientSecretBasic)
		setString(&cl.SubjectType, SubjectPairwise)
		setString(&cl.AccessTokenFormat, AccessTokenOpaque)
		setString(&cl.Name, cl.ID)
		if cl.AuthorizationResponseISS == nil {
			yes := true
			cl.AuthorizationResponseISS = &yes
		}
		setString(&cl.Audience, AudienceAll)
	}
	setDuration(&c.SAML.MetadataValidFor, DefaultSAMLMetadataValidFor)
	setDuration(&c.SAML.MetadataCacheDuration, DefaultSAMLMetadataCacheDuration)
	for i := range c.SAML.ServiceProviders {
		sp := &c.SAML.ServiceProviders[i]
		if sp.RequireSignedRequests == nil {
			yes := true
			sp.RequireSignedRequests = &yes
		}
		setString(&sp.AttributeProfile, ProfileSPID)
		setString(&sp.NameIDFormat, NameIDPersistent)
		setString(&sp.Name, sp.EntityID)
		setString(&sp.Audience, AudienceAll)
	}
}

func setInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

func setString[T ~string](p *T, def T) {
	if *p == "" {
		*p = def
	}
}

func setDuration(p *Duration, def time.Duration) {
	if *p == 0 {
		*p = Duration(def)
	}
}

//go:embed example.yaml
var example []byte

// Example returns a commented configuration file that sets every option,
// most to their defaults. It validates once its secret_file exists.
func Example() []byte { return append([]byte(nil), example...) }
