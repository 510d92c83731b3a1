package config

// Config is the whole configuration of one cnsgate process. Every yaml tag is
// a key of the file; the same path, upper-cased, is its environment variable
// (see EnvVars).
type Config struct {
	// Issuer is the public origin (and OIDC issuer) of cnsgate, e.g.
	// https://login.example.it. https unless the host is a loopback name.
	Issuer string `yaml:"issuer"`
	// CNSOrigin is the https origin of the card listener, e.g.
	// https://cns.login.example.it or https://login.example.it:8444.
	CNSOrigin string `yaml:"cns_origin"`

	Listen       Listen       `yaml:"listen"`
	TLS          TLS          `yaml:"tls"`
	Trust        Trust        `yaml:"trust"`
	Revocation   Revocation   `yaml:"revocation"`
	Proxy        Proxy        `yaml:"proxy"`
	Sessions     Sessions     `yaml:"sessions"`
	Registry     Registry     `yaml:"registry"`
	Registration Registration `yaml:"registration"`
	Login        Login        `yaml:"login"`
	OIDC         OIDC         `yaml:"oidc"`
	Federation   Federation   `yaml:"federation"`
	SAML         SAML         `yaml:"saml"`
	Audit        Audit        `yaml:"audit"`
	Log          Log          `yaml:"log"`
	Shutdown     Shutdown     `yaml:"shutdown"`
	Limits       Limits       `yaml:"limits"`
	Admin        Admin        `yaml:"admin"`
	Web          Web          `yaml:"web"`
	Operators    Operators    `yaml:"operators"`
	Console      Console      `yaml:"console"` // console.go
}

// Listen holds the host:port addresses of the three listeners.
type Listen struct {
	Public string `yaml:"public"` // browser-facing HTTPS; default ":8443"
	CNS    string `yaml:"cns"`    // mutual TLS with the card; default ":8444"
	Admin  string `yaml:"admin"`  // plain HTTP /metrics /healthz /readyz; default "127.0.0.1:9464"
	// Console is the security team's console (HTTPS); empty: off.
	Console string `yaml:"console"`
}

// TLS holds the server certificate of the public and cns listeners.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// CNSMaxVersion caps the card listener: "1.2" (default; smart cards
	// rarely sign RSA-PSS, which TLS 1.3 requires) or "1.3".
	CNSMaxVersion string `yaml:"cns_max_version"`
	// CNSClientCANames advertises the trust anchors' names in the
	// CertificateRequest. Default false: an empty list, which every browser
	// accepts and which avoids oversized handshakes. Extension.
	CNSClientCANames bool `yaml:"cns_client_ca_names"`
	// HSTSMaxAge is the max-age of the Strict-Transport-Security header on
	// the public and cns listeners' answers: default one year (8760h); 0
	// sends no header. Whole seconds.
	HSTSMaxAge Duration `yaml:"hsts_max_age"`
	// HSTSIncludeSubdomains adds includeSubDomains to the header. Default
	// false: it would bind every host under the issuer's domain to HTTPS.
	HSTSIncludeSubdomains bool `yaml:"hsts_include_subdomains"`
}

// Trust says which certificate authorities and which certificates to accept.
type Trust struct {
	CADirs        []string `yaml:"ca_dirs"`         // directories of PEM/DER CA certificates
	TSLFile       string   `yaml:"tsl_file"`        // ETSI TS 119 612 trusted list (TSL-IT.xml)
	TSLSignerFile string   `yaml:"tsl_signer_file"` // certificate that must have signed the trusted list
	// TSLURL is where AgID publishes the trusted list (e.g.
	// https://eidas.agid.gov.it/TL/TSL-IT.xml): fetched at start and every
	// TSLRefresh, its CAs join the other anchors. A list whose signature
	// does not verify with tsl_signer_file (required with it), that is an
	// older issue or that cannot be had keeps the last good one. Default
	// empty: not fetched.
	TSLURL string `yaml:"tsl_url"`
	// TSLCacheFile keeps the last good list fetched from TSLURL, so that a
	// start with the URL down has it. Required with tsl_url.
	TSLCacheFile string `yaml:"tsl_cache_file"`
	// TSLRefresh is the time between fetches (less a jitter of up to a
	// tenth); after a failure the next try comes after a quarter of it, at
	// most 15 minutes. Default 12h.
	TSLRefresh Duration `yaml:"tsl_refresh"`
	// TSLFetchTimeout bounds a whole fetch, body included. Default 30s.
	TSLFetchTimeout Duration `yaml:"tsl_fetch_timeout"`
	// TSLMaxBytes bounds the fetched list. Default 16 MiB.
	TSLMaxBytes int64 `yaml:"tsl_max_bytes"`
	// IntermediateDirs are directories of PEM/DER CA certificates that are
	// not trust anchors but may complete a chain a client presented
	// without them (a CIE card sent without its SUBCA1). Default empty.
	IntermediateDirs []string `yaml:"intermediate_dirs"`
	// Policies are the certificate policy OIDs of which a card certificate
	// must carry one. Default ["1.3.76.16.2.1", "1.3.76.47.4"].
	Policies             []string `yaml:"policies"`
	RequireClientAuthEKU bool     `yaml:"require_client_auth_eku"` // default true
	MinRSABits           int      `yaml:"min_rsa_bits"`            // default 2048, at least 1024
	AllowSHA1            bool     `yaml:"allow_sha1"`              // accept SHA-1 signatures (old cards)
	// MaxIntermediates caps the intermediates a client (or a trusted
	// proxy's header) may present after the card; more are refused before
	// any signature is checked. Default 4, between 1 and 7: real CNS chains
	// have none, the CIE one.
	MaxIntermediates int `yaml:"max_intermediates"`
	// MaxSignatureChecks is the budget of signature verifications one
	// validation may spend looking for a path to an anchor; spent, the
	// chain is refused (chain_too_long). Default 16, between 2 and 64: a
	// CNS card costs one, a CIE card two, a re-keyed CA one more per key.
	MaxSignatureChecks int `yaml:"max_signature_checks"`
}

// Revocation configures CRL and OCSP checking.
type Revocation struct {
	Mode        RevocationMode `yaml:"mode"`         // default crl_then_ocsp
	Failure     FailurePolicy  `yaml:"failure"`      // default closed
	OCSPTimeout Duration       `yaml:"ocsp_timeout"` // default 2s
	CRLGrace    Duration       `yaml:"crl_grace"`    // a CRL stays usable this long past nextUpdate; default 1h
	CRLFiles    []string       `yaml:"crl_files"`    // local CRLs loaded at start
	// CRLURLs overrides the distribution points of an issuer, keyed by the
	// issuer's name (as in the certificate) or its SKI in hex. File only.
	CRLURLs         map[string][]string `yaml:"crl_urls"`
	OCSPURL         string              `yaml:"ocsp_url"`          // responder used instead of the AIA one
	OCSPNonce       bool                `yaml:"ocsp_nonce"`        // send a nonce in OCSP requests; answers must echo it
	CRLMaxBytes     int64               `yaml:"crl_max_bytes"`     // default 64 MiB; a larger CRL is refused, the previous one kept
	CRLFetchTimeout Duration            `yaml:"crl_fetch_timeout"` // default 30s
	// CacheDir keeps the last CRL fetched for each issuer, so that a
	// restart while a CRL server is down still has it (until its
	// nextUpdate plus crl_grace). Empty (the default): no cache.
	CacheDir string `yaml:"cache_dir"`
	// FollowRedirects: none (default) or same_host (same scheme, host and
	// port; at most 3).
	FollowRedirects RedirectPolicy `yaml:"follow_redirects"`
}

// Proxy configures a TLS-terminating front that passes the card certificate
// in a header.
type Proxy struct {
	TrustedCIDRs []string    `yaml:"trusted_cidrs"` // peers whose header is believed
	Header       ProxyHeader `yaml:"header"`        // required when trusted_cidrs is set
	// ForwardedHeader is where the proxies record the client's address,
	// which the audit trail and the log name instead of the proxy's:
	// "x-forwarded-for" (default) or "forwarded" (RFC 7239). Read only
	// from trusted peers; the right-most address that is not a trusted
	// proxy is the client's.
	ForwardedHeader ForwardedHeader `yaml:"forwarded_header"`
}

// Sessions configures where login sessions live and how long.
type Sessions struct {
	Store           SessionStore `yaml:"store"`            // default memory
	IdleTimeout     Duration     `yaml:"idle_timeout"`     // default 15m
	AbsoluteTimeout Duration     `yaml:"absolute_timeout"` // default 8h, at least idle_timeout
	Redis           Redis        `yaml:"redis"`
}

// Redis is the go-redis options subset cnsgate uses. Mode selects the
// deployment; unset, it is derived as go-redis's UniversalClient does: one
// address is a standalone server, master_name selects Sentinel, several
// addresses without master_name a Cluster (see EffectiveMode).
type Redis struct {
	// Mode: standalone, sentinel or cluster. Set it for a Cluster reached
	// through one seed address (derived, that is standalone).
	Mode         RedisMode `yaml:"mode"`
	Addrs        []string  `yaml:"addrs"`
	MasterName   string    `yaml:"master_name"`
	Username     string    `yaml:"username"`
	Password     Secret    `yaml:"password"`
	PasswordFile string    `yaml:"password_file"`
	DB           int       `yaml:"db"`
	TLS          bool      `yaml:"tls"`
}

// Registry configures the SQL database of registrations, operators and audit.
type Registry struct {
	Driver  RegistryDriver `yaml:"driver"`   // default sqlite
	DSN     Secret         `yaml:"dsn"`      // default "file:cnsgate.db" for sqlite
	DSNFile string         `yaml:"dsn_file"` // file holding the DSN
	// Timeout bounds every query and audit write of a login, and the
	// connection to the database; default 2s. A hung database costs a
	// login a clean 503 after it, never the length of the hang.
	Timeout Duration `yaml:"timeout"`
	// MaxConns caps PostgreSQL connections (default 16); MaxIdleConns of
	// them stay open when unused (default: MaxConns, so that a busy pool
	// never closes and reopens connections, re-preparing its statements).
	MaxConns     int `yaml:"max_conns"`
	MaxIdleConns int `yaml:"max_idle_conns"`
}

// Registration says which valid cards may register.
type Registration struct {
	Mode          RegistrationMode `yaml:"mode"`           // default open
	AllowlistFile string           `yaml:"allowlist_file"` // CSV of fiscal codes; required when mode is allowlist
	// ConsentVersion names the version of the consent text the
	// registration page shows (and of the privacy notice beside it); it is
	// recorded with each citizen's consent. Change it when the text
	// changes. Default "1"; 1 to 64 characters, letters, digits, '.', '-',
	// '_'.
	ConsentVersion string `yaml:"consent_version"`
}

// Login tunes the card login of this deployment.
type Login struct {
	// ConfirmIdentity shows, after a valid card login, "Stai per accedere
	// come <name>" with the masked fiscal code, "Continua" and "Non sono
	// io", before the login completes. Default false.
	ConfirmIdentity bool `yaml:"confirm_identity"`
	// ConfirmRelease shows, before a relying party first receives a
	// citizen's data, the list of what it will receive (the claims of the
	// granted scopes, the attributes of the SAML profile) with "Continua"
	// and "Annulla"; the agreement is kept per citizen and relying party
	// in the registry and asked again when the list changes. Default true.
	ConfirmRelease bool `yaml:"confirm_release"`
}

// Audit configures the audit trail.
type Audit struct {
	Sink             AuditSink `yaml:"sink"`               // default both
	Retention        Duration  `yaml:"retention"`          // default 8760h
	RevealFiscalCode bool      `yaml:"reveal_fiscal_code"` // log fiscal codes unmasked
	// CheckpointKeyFile names an Ed25519 private key (PEM PKCS #8, as
	// `openssl genpkey -algorithm ed25519` writes it) that signs the audit
	// chain's checkpoints and retention's anchors; "cnsgate audit verify"
	// checks them with it. Empty: no checkpoints, anchors unsigned.
	CheckpointKeyFile string `yaml:"checkpoint_key_file"`
	// CheckpointInterval is how often the chain's head is signed (default
	// 1h), when CheckpointKeyFile is set.
	CheckpointInterval Duration `yaml:"checkpoint_interval"`
	// Syslog sends each audit event, as RFC 5424 over TCP, to a SIEM too.
	Syslog AuditSyslog `yaml:"syslog"`
}

// AuditSyslog configures the syslog sink of the audit trail (RFC 5424 over
// TCP, octet-counting framing, TLS optional). Off unless Address is set.
type AuditSyslog struct {
	Address    string `yaml:"address"`     // host:port of the collector; empty: off
	TLS        bool   `yaml:"tls"`         // RFC 5425: TLS to the collector
	CAFile     string `yaml:"ca_file"`     // CAs the collector's certificate must chain to (default: the system's)
	ServerName string `yaml:"server_name"` // name checked in the collector's certificate (default: the address's host)
	Queue      int    `yaml:"queue"`       // events waiting at most (default 10000); beyond, dropped, counted and logged
}

// Admin configures the admin API on the admin listener (revoke a
// registration, list and end a citizen's sessions). It is off unless
// TokenFile is set.
type Admin struct {
	// TokenFile names the file holding the API's bearer token, at least
	// MinAdminTokenLength characters; "cnsgate registrations revoke" reads
	// it too, to call the running server.
	TokenFile string `yaml:"token_file"`
	// Token is the content of TokenFile, less its trailing newlines, read
	// when the configuration is loaded. It has no key of its own: the
	// token lives in a file only.
	Token Secret `yaml:"-"`
}

// MinAdminTokenLength is the shortest admin API token accepted.
const MinAdminTokenLength = 32

// Shutdown paces the end of a process on SIGTERM: /readyz turns false, the
// process waits Drain for a load balancer to notice, stops accepting, and
// gives in-flight requests, logout deliveries and audit writes up to Timeout
// before it closes its stores.
type Shutdown struct {
	Drain   Duration `yaml:"drain"`   // default 5s; 0 stops accepting at once
	Timeout Duration `yaml:"timeout"` // default 15s
}

// Limits bound what unauthenticated browsers can make cnsgate hold: each
// /authorize or /saml/sso without a session stores a pending request until
// the card login ends or pending_ttl passes.
type Limits struct {
	// PendingMax caps the pending requests held at once by the memory
	// session store; storing one more evicts the oldest. Default 10000.
	// (Redis bounds them by pending_ttl and a size check per value.)
	PendingMax int `yaml:"pending_max"`
	// PendingTTL is how long a pending request waits for the card; default 10m.
	PendingTTL Duration `yaml:"pending_ttl"`
	// PendingPerIPRate is how many login starts one client IP may make per
	// minute, sustained; default 60. PendingPerIPBurst is how many at once;
	// default 20. Beyond them the answer is 429 with Retry-After.
	PendingPerIPRate  int `yaml:"pending_per_ip_rate"`
	PendingPerIPBurst int `yaml:"pending_per_ip_burst"`
	// TrackedIPs bounds the client IPs whose rate is tracked (least recently
	// seen forgotten first); default 10000.
	TrackedIPs int `yaml:"tracked_ips"`
}

// Log configures the process logger (log/slog). Extension.
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // json (default), text
}

// Web is what the citizen's pages show around their content: the
// administration's name and logo in the header; the accessibility
// statement, privacy notice and legal notes in the footer (the privacy
// notice also beside the registration consent); the help desk's contacts;
// and the time zone of the times they show.
type Web struct {
	// Timezone is the IANA zone of the times the pages show ("Ultimi
	// accessi", a card's expiry); default Europe/Rome.
	Timezone string   `yaml:"timezone"`
	Brand    WebBrand `yaml:"brand"`
	Links    WebLinks `yaml:"links"`
	Help     WebHelp  `yaml:"help"`
}

// WebBrand names the administration in the header.
type WebBrand struct {
	Name string `yaml:"name"` // "Regione Toscana"
	URL  string `yaml:"url"`  // the administration's site, linked from the name
	// LogoFile is a PNG, SVG, JPEG or WebP image of at most MaxLogoBytes,
	// read at start and served by cnsgate itself.
	LogoFile string `yaml:"logo_file"`
}

// MaxLogoBytes bounds web.brand.logo_file.
const MaxLogoBytes = 256 << 10

// WebLinks are the footer's links, absolute http(s) URLs.
type WebLinks struct {
	Accessibility string `yaml:"accessibility"` // "Dichiarazione di accessibilità"
	// Privacy is the information notice on the processing of personal data
	// (GDPR art. 13), linked from the footer and the registration consent.
	Privacy string `yaml:"privacy"`
	Legal   string `yaml:"legal"` // "Note legali"
}

// WebHelp is the help desk the footer and the refusal pages name.
type WebHelp struct {
	Phone         string `yaml:"phone"`
	Hours         string `yaml:"hours"` // "lunedì-venerdì 8:30-17:30"
	Email         string `yaml:"email"`
	MiddlewareURL string `yaml:"middleware_url"` // where to download the card's software
	DriversURL    string `yaml:"drivers_url"`    // where to download the reader's drivers
}

// Operators configures the administration of operators (cnsgate operators,
// /admin/operators).
type Operators struct {
	// Roles is the set of operator roles an administrator may grant, and
	// that a relying party's required_roles may name; empty: any role.
	Roles []string `yaml:"roles"`
}
