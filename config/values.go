package config

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// RevocationMode says which revocation sources are asked, and in which order.
type RevocationMode string

// The revocation modes.
const (
	RevocationCRL         RevocationMode = "crl"
	RevocationOCSP        RevocationMode = "ocsp"
	RevocationCRLThenOCSP RevocationMode = "crl_then_ocsp"
	RevocationOCSPThenCRL RevocationMode = "ocsp_then_crl"
	RevocationNone        RevocationMode = "none"
)

// FailurePolicy says what a login does when no revocation source answers.
// "open" applies to unreachable sources only, never to a "revoked" answer.
type FailurePolicy string

// The failure policies.
const (
	FailClosed FailurePolicy = "closed"
	FailOpen   FailurePolicy = "open"
)

// RedirectPolicy says which HTTP redirects the CRL and OCSP client
// follows. Credentials and cookies are never sent either way.
type RedirectPolicy string

// The redirect policies.
const (
	RedirectNone     RedirectPolicy = "none"      // follow none (default)
	RedirectSameHost RedirectPolicy = "same_host" // only to the same scheme and host:port
)

// ProxyHeader names the header format in which a front passes the client
// certificate.
type ProxyHeader string

// The proxy header formats.
const (
	HeaderRFC9440 ProxyHeader = "rfc9440" // Client-Cert: :base64 DER:
	HeaderNginx   ProxyHeader = "nginx"   // X-SSL-Client-Cert: URL-encoded PEM ($ssl_client_escaped_cert)
	HeaderXFCC    ProxyHeader = "xfcc"    // Envoy X-Forwarded-Client-Cert
)

// ForwardedHeader is proxy.forwarded_header: where a trusted proxy records
// the client's address.
type ForwardedHeader string

// The values of proxy.forwarded_header.
const (
	ForwardedXFF     ForwardedHeader = "x-forwarded-for" // X-Forwarded-For, the default
	ForwardedRFC7239 ForwardedHeader = "forwarded"       // Forwarded (RFC 7239), for= parameters
)

// SessionStore names the session backend.
type SessionStore string

// The session stores.
const (
	StoreMemory SessionStore = "memory"
	StoreRedis  SessionStore = "redis"
)

// RedisMode names the Redis deployment of sessions.redis.mode.
type RedisMode string

// The Redis modes.
const (
	RedisStandalone RedisMode = "standalone" // one server at the only address
	RedisSentinel   RedisMode = "sentinel"   // addrs are Sentinels watching master_name
	RedisCluster    RedisMode = "cluster"    // addrs are seed nodes of a Redis Cluster (one is enough)
)

// RegistryDriver names the SQL database of the registry.
type RegistryDriver string

// The registry drivers.
const (
	DriverSQLite   RegistryDriver = "sqlite"
	DriverPostgres RegistryDriver = "postgres"
)

// RegistrationMode says which valid cards may register.
type RegistrationMode string

// The registration modes.
const (
	RegistrationOpen      RegistrationMode = "open"
	RegistrationAllowlist RegistrationMode = "allowlist"
)

// AuthMethod is an OIDC token_endpoint_auth_method.
type AuthMethod string

// The client authentication methods.
const (
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	AuthClientSecretPost  AuthMethod = "client_secret_post"
	AuthPrivateKeyJWT     AuthMethod = "private_key_jwt"
	AuthNone              AuthMethod = "none"
)

// LogoutConfirmation is oidc.logout_confirmation.
type LogoutConfirmation string

// The logout confirmation modes.
const (
	LogoutConfirmWithoutValidHint LogoutConfirmation = "without_valid_hint"
	LogoutConfirmAlways           LogoutConfirmation = "always"
	LogoutConfirmNever            LogoutConfirmation = "never"
)

// SubjectType is an OIDC subject_type.
type SubjectType string

// The subject types.
const (
	SubjectPairwise SubjectType = "pairwise"
	SubjectPublic   SubjectType = "public"
)

// AccessTokenFormat is what a client's access tokens look like.
type AccessTokenFormat string

// The access token formats: opaque (the default) is a random string that
// only cnsgate can resolve; jwt a signed at+jwt (RFC 9068), one more
// signature per token response.
const (
	AccessTokenOpaque AccessTokenFormat = "opaque"
	AccessTokenJWT    AccessTokenFormat = "jwt"
)

// SigningAlg is a JWS algorithm a client registers for what it receives.
type SigningAlg string

// The signing algorithms: RSA keys sign RS256, PS256 and RS512, EC P-256
// keys ES256.
const (
	AlgRS256 SigningAlg = "RS256"
	AlgPS256 SigningAlg = "PS256"
	AlgES256 SigningAlg = "ES256"
	AlgRS512 SigningAlg = "RS512"
)

// ClientProfile is the set of rules an OIDC client follows.
type ClientProfile string

// The client profiles: plain OpenID Connect (the default), or the SPID or
// CIE id OpenID Connect rules (docs/italian-profile.md).
const (
	ClientProfileOIDC ClientProfile = "oidc"
	ClientProfileSPID ClientProfile = "spid"
	ClientProfileCIE  ClientProfile = "cie"
)

// Italian reports whether the profile is spid or cie.
func (p ClientProfile) Italian() bool { return p == ClientProfileSPID || p == ClientProfileCIE }

// AttributeProfile names the SAML attribute names sent to a service provider.
type AttributeProfile string

// The attribute profiles.
const (
	ProfileSPID AttributeProfile = "spid" // fiscalNumber, name, familyName, ...
	ProfileOID  AttributeProfile = "oid"  // urn:oid:... names
)

// NameIDFormat is the SAML NameID format sent to a service provider.
type NameIDFormat string

// The NameID formats.
const (
	NameIDPersistent NameIDFormat = "persistent"
	NameIDTransient  NameIDFormat = "transient"
)

// AuditSink says where audit events go.
type AuditSink string

// The audit sinks.
const (
	AuditLog  AuditSink = "log"
	AuditDB   AuditSink = "db"
	AuditBoth AuditSink = "both"
)

// The allowed values of each enumeration, in the order error messages list
// them.
var (
	revocationModes   = []RevocationMode{RevocationCRL, RevocationOCSP, RevocationCRLThenOCSP, RevocationOCSPThenCRL, RevocationNone}
	failurePolicies   = []FailurePolicy{FailClosed, FailOpen}
	redirectPolicies  = []RedirectPolicy{RedirectNone, RedirectSameHost}
	proxyHeaders      = []ProxyHeader{HeaderRFC9440, HeaderNginx, HeaderXFCC}
	forwardedHeaders  = []ForwardedHeader{ForwardedXFF, ForwardedRFC7239}
	sessionStores     = []SessionStore{StoreMemory, StoreRedis}
	redisModes        = []RedisMode{RedisStandalone, RedisSentinel, RedisCluster}
	registryDrivers   = []RegistryDriver{DriverSQLite, DriverPostgres}
	registrationModes = []RegistrationMode{RegistrationOpen, RegistrationAllowlist}
	authMethods       = []AuthMethod{AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT, AuthNone}
	subjectTypes      = []SubjectType{SubjectPairwise, SubjectPublic}
	signingAlgs       = []SigningAlg{AlgRS256, AlgPS256, AlgES256, AlgRS512}
	clientProfiles    = []ClientProfile{ClientProfileOIDC, ClientProfileSPID, ClientProfileCIE}
	keyEncAlgs        = []string{"RSA-OAEP-256", "RSA-OAEP"}
	contentEncAlgs    = []string{"A128CBC-HS256", "A256CBC-HS512"}
	accessFormats     = []AccessTokenFormat{AccessTokenOpaque, AccessTokenJWT}
	logoutConfirms    = []LogoutConfirmation{LogoutConfirmWithoutValidHint, LogoutConfirmAlways, LogoutConfirmNever}
	attributeProfiles = []AttributeProfile{ProfileSPID, ProfileOID}
	nameIDFormats     = []NameIDFormat{NameIDPersistent, NameIDTransient}
	auditSinks        = []AuditSink{AuditLog, AuditDB, AuditBoth}
	tlsVersions       = []string{"1.2", "1.3"}
	logLevels         = []string{"debug", "info", "warn", "error"}
	logFormats        = []string{"json", "text"}
)

// CNSMaxTLSVersion returns CNSMaxVersion as a crypto/tls constant
// (tls.VersionTLS12 for anything but "1.3").
func (t TLS) CNSMaxTLSVersion() uint16 {
	if t.CNSMaxVersion == "1.3" {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// SlogLevel returns Level as a slog.Level (slog.LevelInfo when unknown).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// EffectiveMode is the mode option, or when it is unset the mode go-redis's
// UniversalClient would pick (the rule before the option existed): sentinel
// when master_name is set, cluster when several addresses are given, else
// standalone.
func (r Redis) EffectiveMode() RedisMode {
	switch {
	case r.Mode != "":
		return r.Mode
	case r.MasterName != "":
		return RedisSentinel
	case len(r.Addrs) > 1:
		return RedisCluster
	default:
		return RedisStandalone
	}
}

// Cluster reports whether the options select a Redis Cluster.
func (r Redis) Cluster() bool { return r.EffectiveMode() == RedisCluster }

// Duration is a time.Duration written as a Go duration string ("2s", "15m",
// "8760h") in YAML and in the environment. A bare number is refused: it
// would silently mean nanoseconds.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d the way time.Duration does, less zero minutes and
// seconds: "15m", "8h", "1h30m", "500ms".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalYAML reads a duration string. A bad value is reported with its
// line and decoding goes on, so that every error of the file is collected.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a duration must be a string such as '15m'", n.Line)}}
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("'%s' is not a duration such as '2s', '15m' or '8h'", s)
	}
	return Duration(v), nil
}
