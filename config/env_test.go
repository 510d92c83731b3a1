package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

func TestEnvOverlay(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c *Config)
		want  []string // problems
	}{
		{"ok/scalar", map[string]string{"CNSGATE_LISTEN_PUBLIC": "0.0.0.0:443", "CNSGATE_ISSUER": "https://sso.example.it"}, func(t *testing.T, c *Config) {
			if c.Listen.Public != "0.0.0.0:443" || c.Issuer != "https://sso.example.it" {
				t.Errorf("got %q %q", c.Listen.Public, c.Issuer)
			}
		}, nil},
		{"ok/enum-int-bool", map[string]string{
			"CNSGATE_REVOCATION_MODE":               "ocsp",
			"CNSGATE_TRUST_MIN_RSA_BITS":            "1024",
			"CNSGATE_TRUST_REQUIRE_CLIENT_AUTH_EKU": "false",
			"CNSGATE_TLS_CNS_CLIENT_CA_NAMES":       "true",
			"CNSGATE_REVOCATION_CRL_MAX_BYTES":      "1048576",
			"CNSGATE_SESSIONS_REDIS_DB":             "4",
		}, func(t *testing.T, c *Config) {
			if c.Revocation.Mode != RevocationOCSP || c.Trust.MinRSABits != 1024 || c.Trust.RequireClientAuthEKU ||
				!c.TLS.CNSClientCANames || c.Revocation.CRLMaxBytes != 1<<20 || c.Sessions.Redis.DB != 4 {
				t.Errorf("got %+v %+v %+v", c.Revocation, c.Trust, c.TLS)
			}
		}, nil},
		{"ok/list", map[string]string{"CNSGATE_SESSIONS_STORE": "redis", "CNSGATE_SESSIONS_REDIS_ADDRS": "redis-1:6379, redis-2:6379,,"}, func(t *testing.T, c *Config) {
			if !slices.Equal(c.Sessions.Redis.Addrs, []string{"redis-1:6379", "redis-2:6379"}) {
				t.Errorf("addrs = %q", c.Sessions.Redis.Addrs)
			}
		}, nil},
		{"ok/list-replaces-file", map[string]string{"CNSGATE_TRUST_CA_DIRS": "/a,/b"}, func(t *testing.T, c *Config) {
			if !slices.Equal(c.Trust.CADirs, []string{"/a", "/b"}) {
				t.Errorf("ca_dirs = %q", c.Trust.CADirs)
			}
		}, nil},
		{"ok/duration", map[string]string{"CNSGATE_REVOCATION_OCSP_TIMEOUT": "500ms", "CNSGATE_SESSIONS_IDLE_TIMEOUT": "30m"}, func(t *testing.T, c *Config) {
			if c.Revocation.OCSPTimeout.Std() != 500*time.Millisecond || c.Sessions.IdleTimeout.Std() != 30*time.Minute {
				t.Errorf("got %s %s", c.Revocation.OCSPTimeout, c.Sessions.IdleTimeout)
			}
		}, nil},
		{"ok/secret", map[string]string{"CNSGATE_REGISTRY_DRIVER": "postgres", "CNSGATE_REGISTRY_DSN": "postgres://u:p@db/cnsgate"}, func(t *testing.T, c *Config) {
			if c.Registry.DSN.Value() != "postgres://u:p@db/cnsgate" {
				t.Errorf("dsn = %q", c.Registry.DSN.Value())
			}
		}, nil},
		{"ok/empty-is-ignored", map[string]string{"CNSGATE_LISTEN_CNS": "", "CNSGATE_TRUST_CA_DIRS": ""}, func(t *testing.T, c *Config) {
			if c.Listen.CNS != DefaultListenCNS || len(c.Trust.CADirs) != 1 {
				t.Errorf("got %q %q", c.Listen.CNS, c.Trust.CADirs)
			}
		}, nil},
		{"fail/bad-values", map[string]string{
			"CNSGATE_REVOCATION_OCSP_TIMEOUT":  "2",
			"CNSGATE_SESSIONS_REDIS_TLS":       "yes please",
			"CNSGATE_SESSIONS_REDIS_DB":        "one",
			"CNSGATE_REVOCATION_CRL_MAX_BYTES": "99999999999999999999",
		}, nil, []string{
			"revocation: option 'ocsp_timeout': environment variable CNSGATE_REVOCATION_OCSP_TIMEOUT: '2' is not a duration such as '2s', '15m' or '8h'",
			"revocation: option 'crl_max_bytes': environment variable CNSGATE_REVOCATION_CRL_MAX_BYTES: '99999999999999999999' is not an integer",
			"sessions: redis: option 'db': environment variable CNSGATE_SESSIONS_REDIS_DB: 'one' is not an integer",
			"sessions: redis: option 'tls': environment variable CNSGATE_SESSIONS_REDIS_TLS: 'yes please' is not a boolean (true or false)",
		}},
		{"fail/value-validated", map[string]string{"CNSGATE_LOG_LEVEL": "verbose"}, nil, []string{
			"log: option 'level' must be one of 'debug', 'info', 'warn', 'error' but it's configured as 'verbose'",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Loader{LookupEnv: lookup(tt.env), ReadFile: noFiles().ReadFile}.Parse([]byte(minimal))
			if got := problemsOf(t, err); !slices.Equal(got, tt.want) {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestEnvVars(t *testing.T) {
	vars := EnvVars()
	byName := map[string]EnvVar{}
	for _, v := range vars {
		if _, dup := byName[v.Name]; dup {
			t.Errorf("two options share %s", v.Name)
		}
		byName[v.Name] = v
	}
	for name, kind := range map[string]string{
		"CNSGATE_ISSUER":                        "string",
		"CNSGATE_CNS_ORIGIN":                    "string",
		"CNSGATE_LISTEN_PUBLIC":                 "string",
		"CNSGATE_TLS_CNS_MAX_VERSION":           "string",
		"CNSGATE_TRUST_POLICIES":                "list",
		"CNSGATE_TRUST_REQUIRE_CLIENT_AUTH_EKU": "bool",
		"CNSGATE_REVOCATION_OCSP_TIMEOUT":       "duration",
		"CNSGATE_REVOCATION_CRL_MAX_BYTES":      "int",
		"CNSGATE_PROXY_TRUSTED_CIDRS":           "list",
		"CNSGATE_SESSIONS_REDIS_ADDRS":          "list",
		"CNSGATE_SESSIONS_REDIS_PASSWORD":       "string",
		"CNSGATE_SESSIONS_REDIS_PASSWORD_FILE":  "string",
		"CNSGATE_REGISTRY_DSN_FILE":             "string",
		"CNSGATE_OIDC_SIGNING_KEYS":             "list",
		"CNSGATE_SAML_CERT_FILE":                "string",
		"CNSGATE_AUDIT_RETENTION":               "duration",
		"CNSGATE_LOG_FORMAT":                    "string",
	} {
		if v, ok := byName[name]; !ok || v.Kind != kind {
			t.Errorf("%s: got %+v, want kind %s", name, v, kind)
		}
	}
	for _, absent := range []string{"CNSGATE_OIDC_CLIENTS", "CNSGATE_SAML_SERVICE_PROVIDERS", "CNSGATE_REVOCATION_CRL_URLS"} {
		if _, ok := byName[absent]; ok {
			t.Errorf("%s should not exist", absent)
		}
	}
	// Every option the file can hold has a variable, except lists of
	// structures, maps and structures (saml.key_pkcs11).
	want := 0
	for _, p := range schemaPaths(configType, "") {
		if !strings.Contains(p, "[]") && p != "revocation.crl_urls" && p != "saml.key_pkcs11" {
			want++
		}
	}
	if len(vars) != want {
		t.Errorf("%d variables for %d options", len(vars), want)
	}
}
