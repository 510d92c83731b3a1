package config

import (
	"encoding/asn1"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// valid returns a configuration that passes Validate, with one OIDC client
// and one SAML service provider.
func valid(t *testing.T) *Config {
	t.Helper()
	return mustParse(t, noFiles(), minimal+`
oidc:
  signing_keys: [k.pem]
  subject_salt: `+testSalt+`
  clients:
    - {id: a, secret: s, redirect_uris: ["https://a/cb"]}
    - {id: b, secret: s, redirect_uris: ["https://b/cb"]}
saml:
  cert_file: idp.crt
  key_file: idp.key
  name_id_salt: a-salt-of-at-least-thirty-two-characters
  service_providers:
    - {entity_id: "https://sp1", metadata_file: sp1.xml}
    - {entity_id: "https://sp2", metadata_url: "https://sp2/metadata"}
`)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"ok/valid", func(c *Config) {}, nil},
		{"ok/loopback-http-issuer", func(c *Config) { c.Issuer = "http://localhost:8443" }, nil},
		{"ok/tsl-only", func(c *Config) { c.Trust.CADirs, c.Trust.TSLFile, c.Trust.TSLSignerFile = nil, "tsl.xml", "signer.pem" }, nil},
		{"ok/redis-sentinel", func(c *Config) {
			c.Sessions.Store = StoreRedis
			c.Sessions.Redis = Redis{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "m", DB: 3}
		}, nil},
		{"ok/redis-cluster-one-seed", func(c *Config) {
			c.Sessions.Store = StoreRedis
			c.Sessions.Redis = Redis{Mode: RedisCluster, Addrs: []string{"r1:6379"}}
		}, nil},
		{"ok/redis-derived-cluster", func(c *Config) {
			c.Sessions.Store = StoreRedis
			c.Sessions.Redis = Redis{Addrs: []string{"r1:6379", "r2:6379"}}
		}, nil},
		{"ok/proxy", func(c *Config) { c.Proxy = Proxy{TrustedCIDRs: []string{"10.0.0.0/8", "fd00::/8"}, Header: HeaderXFCC} }, nil},

		{"fail/issuer-missing", func(c *Config) { c.Issuer = "" }, []string{"option 'issuer' is required"}},
		{"fail/issuer-http", func(c *Config) { c.Issuer = "http://login.example.it" }, []string{
			"option 'issuer' must be an https URL unless the host is localhost or 127.0.0.1 but it's configured as 'http://login.example.it'"}},
		{"fail/issuer-relative", func(c *Config) { c.Issuer = "login.example.it" }, []string{
			"option 'issuer' must be an absolute URL but it's configured as 'login.example.it'"}},
		{"fail/issuer-trailing-slash", func(c *Config) { c.Issuer = "https://login.example.it/" }, []string{
			"option 'issuer' must not end with '/' nor have a query but it's configured as 'https://login.example.it/'"}},
		{"fail/cns-origin-http", func(c *Config) { c.CNSOrigin = "http://cns.example.it" }, []string{
			"option 'cns_origin' must be a URL with scheme https but it's configured as 'http://cns.example.it'"}},
		{"fail/cns-origin-path", func(c *Config) { c.CNSOrigin = "https://cns.example.it/cns" }, []string{
			"option 'cns_origin' must be an origin (scheme://host[:port]) but it's configured as 'https://cns.example.it/cns'"}},
		{"fail/cns-origin-trailing-slash", func(c *Config) { c.CNSOrigin = "https://cns.example.it/" }, []string{
			"option 'cns_origin' must not end with '/' nor have a query but it's configured as 'https://cns.example.it/'"}},
		{"fail/cns-origin-same-as-issuer", func(c *Config) { c.CNSOrigin = "https://login.example.it:443" }, []string{
			"option 'cns_origin' must differ from the origin of 'issuer': the card listener needs an origin of its own"}},
		{"fail/listen", func(c *Config) { c.Listen = Listen{Public: "8443", CNS: ":99999", Admin: ""} }, []string{
			"listen: option 'public' must be a host:port address but it's configured as '8443'",
			"listen: option 'cns' must be a host:port address but it's configured as ':99999'",
			"listen: option 'admin' is required"}},
		{"fail/listen-same-address", func(c *Config) { c.Listen.CNS = c.Listen.Public }, []string{
			"listen: options 'public' and 'cns' must be different addresses but both are ':8443'"}},
		{"fail/tls", func(c *Config) { c.TLS = TLS{CNSMaxVersion: "1.1"} }, []string{
			"tls: option 'cert_file' is required",
			"tls: option 'key_file' is required",
			"tls: option 'cns_max_version' must be one of '1.2', '1.3' but it's configured as '1.1'"}},
		{"fail/hsts-max-age", func(c *Config) { c.TLS.HSTSMaxAge = Duration(-time.Second) }, []string{
			"tls: option 'hsts_max_age' must be 0 (no header) or a positive whole number of seconds but it's configured as '-1s'"}},
		{"fail/hsts-max-age-fraction", func(c *Config) { c.TLS.HSTSMaxAge = Duration(1500 * time.Millisecond) }, []string{
			"tls: option 'hsts_max_age' must be 0 (no header) or a positive whole number of seconds but it's configured as '1.5s'"}},
		{"fail/proxy-forwarded-header", func(c *Config) { c.Proxy.ForwardedHeader = "x-real-ip" }, []string{
			"proxy: option 'forwarded_header' must be one of 'x-forwarded-for', 'forwarded' but it's configured as 'x-real-ip'"}},
		{"ok/intermediate-dirs", func(c *Config) { c.Trust.IntermediateDirs = []string{".", os.TempDir()} }, nil},
		{"fail/intermediate-dirs", func(c *Config) {
			c.Trust.IntermediateDirs = []string{"", "testdata-missing-dir", "validate_test.go"}
		}, []string{
			"trust: option 'intermediate_dirs' has an empty item at index 0",
			"trust: option 'intermediate_dirs' has an item 'testdata-missing-dir' that cannot be read: no such file or directory",
			"trust: option 'intermediate_dirs' has an item 'validate_test.go' that is not a directory"}},
		{"fail/no-trust-source", func(c *Config) { c.Trust.CADirs = nil }, []string{
			"trust: one of the options 'ca_dirs', 'tsl_file' or 'tsl_url' is required"}},
		{"ok/tsl-url", func(c *Config) {
			c.Trust.CADirs = nil
			c.Trust.TSLURL = "https://eidas.agid.gov.it/TL/TSL-IT.xml"
			c.Trust.TSLSignerFile = "agid.pem"
			c.Trust.TSLCacheFile = filepath.Join(os.TempDir(), "tsl-it.xml")
		}, nil},
		{"fail/tsl-url", func(c *Config) {
			c.Trust.TSLURL = "ftp://user:pw@agid/TSL-IT.xml"
			c.Trust.TSLRefresh = Duration(-time.Hour)
			c.Trust.TSLFetchTimeout = Duration(-time.Second)
			c.Trust.TSLMaxBytes = -1
		}, []string{
			"trust: option 'tsl_refresh' must be a positive duration but it's configured as '-1h'",
			"trust: option 'tsl_fetch_timeout' must be a positive duration but it's configured as '-1s'",
			"trust: option 'tsl_max_bytes' must be positive but it's configured as '-1'",
			"trust: option 'tsl_url' must be an http(s) URL with a host and no credentials, such as 'https://eidas.agid.gov.it/TL/TSL-IT.xml', but it's configured as 'ftp://user:pw@agid/TSL-IT.xml'",
			"trust: option 'tsl_signer_file' is required when 'tsl_url' is set: a list fetched from the network is trusted for its signature only",
			"trust: option 'tsl_cache_file' is required when 'tsl_url' is set: the last good list must outlive a restart while the URL is down"}},
		{"fail/tsl-cache-file", func(c *Config) {
			c.Trust.TSLCacheFile = "/nonexistent-dir/tsl-it.xml"
		}, []string{"trust: option 'tsl_cache_file' is set but 'tsl_url' is not"}},
		{"fail/tsl-cache-dir-missing", func(c *Config) {
			c.Trust.TSLURL, c.Trust.TSLSignerFile = "https://eidas.agid.gov.it/TL/TSL-IT.xml", "agid.pem"
			c.Trust.TSLCacheFile = "/nonexistent-dir/tsl-it.xml"
		}, []string{"trust: option 'tsl_cache_file' names '/nonexistent-dir/tsl-it.xml', whose directory does not exist"}},
		{"fail/trust", func(c *Config) {
			c.Trust.TSLSignerFile = "s.pem"
			c.Trust.Policies = []string{"1.3.76.16.2.1", "1.3.x", "3.1", "1", "1.03"}
			c.Trust.MinRSABits = 512
			c.Trust.MaxIntermediates = 8
			c.Trust.MaxSignatureChecks = 65
		}, []string{
			"trust: option 'tsl_signer_file' is set but neither 'tsl_file' nor 'tsl_url' is",
			"trust: option 'policies' has an item '1.3.x' that is not an object identifier such as '1.3.76.16.2.1'",
			"trust: option 'policies' has an item '3.1' that is not an object identifier such as '1.3.76.16.2.1'",
			"trust: option 'policies' has an item '1' that is not an object identifier such as '1.3.76.16.2.1'",
			"trust: option 'policies' has an item '1.03' that is not an object identifier such as '1.3.76.16.2.1'",
			"trust: option 'min_rsa_bits' must be at least 1024 but it's configured as '512'",
			"trust: option 'max_intermediates' must be between 1 and 7 but it's configured as '8'",
			"trust: option 'max_signature_checks' must be between 2 and 64 but it's configured as '65'"}},
		{"fail/revocation", func(c *Config) {
			r := &c.Revocation
			r.Mode, r.Failure, r.OCSPTimeout, r.CRLMaxBytes = "always", "ajar", -1, -5
			r.FollowRedirects = "anywhere"
			r.CRLURLs = map[string][]string{"CA Cittadini": {"ldap://x/cn=crl"}, "0A1B": nil}
			r.OCSPURL = "ocsp.example.it"
			r.CacheDir = "/dev/null"
		}, []string{
			"revocation: option 'mode' must be one of 'crl', 'ocsp', 'crl_then_ocsp', 'ocsp_then_crl', 'none' but it's configured as 'always'",
			"revocation: option 'failure' must be one of 'closed', 'open' but it's configured as 'ajar'",
			"revocation: option 'follow_redirects' must be one of 'none', 'same_host' but it's configured as 'anywhere'",
			"revocation: option 'ocsp_timeout' must be a positive duration but it's configured as '-1ns'",
			"revocation: option 'crl_max_bytes' must be positive but it's configured as '-5'",
			"revocation: option 'crl_urls' has no URL for issuer '0A1B'",
			"revocation: option 'crl_urls' must be a URL with scheme http or https but it's configured as 'ldap://x/cn=crl'",
			"revocation: option 'ocsp_url' must be an absolute URL but it's configured as 'ocsp.example.it'",
			"revocation: option 'cache_dir' must be a directory but '/dev/null' is not one"}},
		{"fail/proxy-without-header", func(c *Config) { c.Proxy.TrustedCIDRs = []string{"10.0.0.0/8", "10.0.0.1"} }, []string{
			"proxy: option 'trusted_cidrs' has an item '10.0.0.1' that is not a CIDR such as '10.0.0.0/8'",
			"proxy: option 'header' is required when 'trusted_cidrs' is set"}},
		{"fail/proxy-bad-header", func(c *Config) { c.Proxy.Header = "x-ssl-cert" }, []string{
			"proxy: option 'header' must be one of 'rfc9440', 'nginx', 'xfcc' but it's configured as 'x-ssl-cert'"}},
		{"fail/redis-without-addrs", func(c *Config) { c.Sessions.Store = StoreRedis }, []string{
			"sessions: redis: option 'addrs' is required when store is 'redis'"}},
		{"fail/redis-cluster-db", func(c *Config) {
			c.Sessions.Store = StoreRedis
			c.Sessions.Redis = Redis{Addrs: []string{"r1:6379", "r2"}, DB: 2}
		}, []string{
			"sessions: redis: option 'addrs' must be a host:port address but it's configured as 'r2'",
			"sessions: redis: option 'db' must be 0 for a Redis Cluster (mode 'cluster', or several 'addrs' and no 'master_name') but it's configured as '2'"}},
		{"fail/redis-unknown-mode", func(c *Config) {
			c.Sessions.Store = StoreRedis
			c.Sessions.Redis = Redis{Mode: "ring", Addrs: []string{"r1:6379"}, DB: 1}
		}, []string{
			"sessions: redis: option 'mode' must be one of 'standalone', 'sentinel', 'cluster' but it's configured as 'ring'"}},
		{"fail/redis-standalone-several-addrs", func(c *Config) {
			c.Sessions.Store = StoreRedis
			c.Sessions.Redis = Redis{Mode: RedisStandalone, Addrs: []string{"r1:6379", "r2:6379"}}
		}, []string{
			"sessions: redis: option 'addrs' must hold one address when mode is 'standalone' but it holds 2"}},
		{"fail/redis-sentinel-without-master", func(c *Config) {
			c.Sessions.Store = StoreRedis
			c.Sessions.Redis = Redis{Mode: RedisSentinel, Addrs: []string{"s1:26379"}}
		}, []string{
			"sessions: redis: option 'master_name' is required when mode is 'sentinel'"}},
		{"fail/redis-cluster-one-seed-with-master-and-db", func(c *Config) {
			c.Sessions.Store = StoreRedis
			c.Sessions.Redis = Redis{Mode: RedisCluster, Addrs: []string{"r1:6379"}, MasterName: "m", DB: 3}
		}, []string{
			"sessions: redis: option 'master_name' is only for mode 'sentinel' but mode is 'cluster'",
			"sessions: redis: option 'db' must be 0 for a Redis Cluster (mode 'cluster', or several 'addrs' and no 'master_name') but it's configured as '3'"}},
		{"fail/sessions", func(c *Config) {
			c.Sessions.Store, c.Sessions.IdleTimeout, c.Sessions.AbsoluteTimeout = "file", Duration(DefaultAbsoluteTimeout), Duration(DefaultIdleTimeout)
		}, []string{
			"sessions: option 'store' must be one of 'memory', 'redis' but it's configured as 'file'",
			"sessions: option 'absolute_timeout' must be at least 'idle_timeout' (8h) but it's configured as '15m'"}},
		{"fail/registry", func(c *Config) {
			c.Registry = Registry{Driver: DriverPostgres, Timeout: c.Registry.Timeout, MaxConns: 16, MaxIdleConns: 16}
		}, []string{
			"registry: option 'dsn' is required when driver is 'postgres'"}},
		{"fail/registry-pool", func(c *Config) { c.Registry.MaxConns, c.Registry.MaxIdleConns = 0, 17 }, []string{
			"registry: option 'max_conns' must be at least 1 but it's configured as '0'",
			"registry: option 'max_idle_conns' must be between 1 and 'max_conns' (0) but it's configured as '17'"}},
		{"fail/registry-idle-over-open", func(c *Config) { c.Registry.MaxConns, c.Registry.MaxIdleConns = 4, 8 }, []string{
			"registry: option 'max_idle_conns' must be between 1 and 'max_conns' (4) but it's configured as '8'"}},
		{"fail/registry-timeout", func(c *Config) { c.Registry.Timeout = -1 }, []string{
			"registry: option 'timeout' must be a positive duration but it's configured as '-1ns'"}},
		{"fail/registry-driver", func(c *Config) { c.Registry.Driver = "mysql" }, []string{
			"registry: option 'driver' must be one of 'sqlite', 'postgres' but it's configured as 'mysql'"}},
		{"fail/allowlist-without-file", func(c *Config) { c.Registration.Mode = RegistrationAllowlist }, []string{
			"registration: option 'allowlist_file' is required when mode is 'allowlist'"}},
		{"fail/audit-and-log", func(c *Config) {
			c.Audit.Sink, c.Audit.Retention, c.Log = "syslog", -1, Log{Level: "trace", Format: "xml"}
		}, []string{
			"audit: option 'sink' must be one of 'log', 'db', 'both' but it's configured as 'syslog'",
			"audit: option 'retention' must be a positive duration but it's configured as '-1ns'",
			"log: option 'level' must be one of 'debug', 'info', 'warn', 'error' but it's configured as 'trace'",
			"log: option 'format' must be one of 'json', 'text' but it's configured as 'xml'"}},
		{"fail/limits", func(c *Config) {
			c.Limits = Limits{PendingMax: -1, PendingTTL: Duration(2 * time.Hour), PendingPerIPRate: -5, PendingPerIPBurst: -1, TrackedIPs: -2}
		}, []string{
			"limits: option 'pending_max' must be a positive number but it's configured as '-1'",
			"limits: option 'pending_per_ip_rate' must be a positive number but it's configured as '-5'",
			"limits: option 'pending_per_ip_burst' must be a positive number but it's configured as '-1'",
			"limits: option 'tracked_ips' must be a positive number but it's configured as '-2'",
			"limits: option 'pending_ttl' must be at most 1h but it's configured as '2h'"}},
		{"ok/web", func(c *Config) {
			c.Web = Web{Timezone: "Europe/Rome", Brand: WebBrand{Name: "Regione Esempio", URL: "https://www.regione.example.it/"},
				Links: WebLinks{Privacy: "https://www.regione.example.it/privacy"},
				Help:  WebHelp{Phone: "800 000 000", Hours: "8-17", Email: "help@regione.example.it", DriversURL: "https://x.example/d"}}
		}, nil},
		{"fail/web", func(c *Config) {
			c.Web = Web{Timezone: "Mars/Olympus", Brand: WebBrand{URL: "www.example.it", LogoFile: "logo.gif"},
				Links: WebLinks{Privacy: "javascript:alert(1)"},
				Help:  WebHelp{Hours: "8-17", Email: "Help <help@example.it>"}}
		}, []string{
			"web: option 'timezone' must be an IANA time zone such as 'Europe/Rome' but it's configured as 'Mars/Olympus'",
			"web: brand: option 'url' must be an absolute URL but it's configured as 'www.example.it'",
			"web: links: option 'privacy' must be a URL with scheme http or https but it's configured as 'javascript:alert(1)'",
			"web: help: option 'email' must be a plain e-mail address such as 'assistenza@example.it' but it's configured as 'Help <help@example.it>'",
			"web: help: option 'hours' needs 'phone': they are the phone line's hours",
			"web: brand: option 'logo_file' must be a .png, .svg, .jpg or .webp image but it's configured as 'logo.gif'"}},
		{"fail/web-logo-missing", func(c *Config) { c.Web.Brand.LogoFile = "/nonexistent/logo.png" }, []string{
			"web: brand: option 'logo_file' names '/nonexistent/logo.png', which cannot be read: no such file or directory"}},
		{"fail/web-local-timezone", func(c *Config) { c.Web.Timezone = "Local" }, []string{
			"web: option 'timezone' must be an IANA time zone such as 'Europe/Rome' but it's configured as 'Local'"}},
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

// TestEveryErrorAtOnce checks that one file with problems in many sections
// reports them all, from every step of loading.
func TestEveryErrorAtOnce(t *testing.T) {
	doc := `
issuer: http://login.example.it
listen: {public: ":8443", cns: ":8443", admim: x}
sessions:
  store: redis
  idle_timeout: 1x
oidc:
  clients:
    - id: a
      redirect_uris: []
`
	env := map[string]string{"CNSGATE_TRUST_MIN_RSA_BITS": "lots"}
	_, err := Loader{LookupEnv: lookup(env), ReadFile: noFiles().ReadFile}.Parse([]byte(doc))
	want := []string{
		"listen: option 'admim' is unknown; did you mean 'admin'? (line 3)",
		"sessions: option 'idle_timeout': '1x' is not a duration such as '2s', '15m' or '8h' (line 6)",
		"trust: option 'min_rsa_bits': environment variable CNSGATE_TRUST_MIN_RSA_BITS: 'lots' is not an integer",
		"option 'issuer' must be an https URL unless the host is localhost or 127.0.0.1 but it's configured as 'http://login.example.it' (line 2)",
		"option 'cns_origin' is required",
		"listen: options 'public' and 'cns' must be different addresses but both are ':8443' (line 3)",
		"tls: option 'cert_file' is required",
		"tls: option 'key_file' is required",
		"trust: one of the options 'ca_dirs', 'tsl_file' or 'tsl_url' is required",
		"sessions: redis: option 'addrs' is required when store is 'redis' (line 4)",
		"oidc: option 'signing_keys' is required when 'clients' are configured (line 7)",
		"oidc: option 'subject_salt' is required when 'clients' are configured (line 7)",
		"oidc: clients[0]: option 'redirect_uris' is required (line 10)",
		"oidc: clients[0]: option 'secret' is required when token_endpoint_auth_method is 'client_secret_basic' (line 9)",
	}
	if got := problemsOf(t, err); !slices.Equal(got, want) {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestValidOID(t *testing.T) {
	for s, want := range map[string]bool{
		"1.3.76.16.2.1": true, "2.5.29.32.0": true, "0.9": true,
		"": false, "1": false, "3.1": false, "1..2": false, "1.2.": false, "1.02": false, "1.2a": false, " 1.2": false,
	} {
		if got := validOID(s); got != want {
			t.Errorf("validOID(%q) = %v", s, got)
		}
	}
}

// TestParseOID: the arcs of a valid OID; an arc beyond an int is refused
// rather than wrapped.
func TestParseOID(t *testing.T) {
	got, err := ParseOID("1.3.76.16.2.1")
	if err != nil || !got.Equal(asn1.ObjectIdentifier{1, 3, 76, 16, 2, 1}) {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, s := range []string{"1.2.99999999999999999999", "1.+2", "1.-2"} {
		if oid, err := ParseOID(s); err == nil {
			t.Errorf("ParseOID(%q) = %v", s, oid)
		}
	}
}

func TestRedisEffectiveMode(t *testing.T) {
	for _, c := range []struct {
		name string
		r    Redis
		want RedisMode
	}{
		{"derived/standalone", Redis{Addrs: []string{"r:6379"}}, RedisStandalone},
		{"derived/cluster", Redis{Addrs: []string{"r1:6379", "r2:6379"}}, RedisCluster},
		{"derived/sentinel", Redis{Addrs: []string{"s1:26379"}, MasterName: "m"}, RedisSentinel},
		{"set/cluster-one-seed", Redis{Mode: RedisCluster, Addrs: []string{"r:6379"}}, RedisCluster},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.r.EffectiveMode(); got != c.want {
				t.Fatalf("EffectiveMode() = %s, want %s", got, c.want)
			}
		})
	}
}
