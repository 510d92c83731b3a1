package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest file that validates.
const minimal = `
issuer: https://login.example.it
cns_origin: https://cns.login.example.it
tls: {cert_file: server.crt, key_file: server.key}
trust: {ca_dirs: [ca]}
`

// noFiles is a Loader that has no environment and finds no file.
func noFiles() Loader {
	return Loader{ReadFile: func(p string) ([]byte, error) {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}}
}

// problemsOf returns the rendered problems of a *ValidationError, failing
// the test on any other error.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %T is not a *ValidationError: %v", err, err)
	}
	if ve.Error() != strings.Join(ve.Strings(), "\n") {
		t.Fatalf("Error() and Strings() disagree")
	}
	return ve.Strings()
}

func TestDefaults(t *testing.T) {
	c, err := noFiles().Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen.public", c.Listen.Public, ":8443"},
		{"listen.cns", c.Listen.CNS, ":8444"},
		{"listen.admin", c.Listen.Admin, "127.0.0.1:9464"},
		{"tls.cns_max_version", c.TLS.CNSMaxVersion, "1.2"},
		{"tls.cns_client_ca_names", c.TLS.CNSClientCANames, false},
		{"trust.policies", c.Trust.Policies, []string{"1.3.76.16.2.1", "1.3.76.47.4"}},
		{"trust.require_client_auth_eku", c.Trust.RequireClientAuthEKU, true},
		{"trust.min_rsa_bits", c.Trust.MinRSABits, 2048},
		{"trust.allow_sha1", c.Trust.AllowSHA1, false},
		{"trust.max_intermediates", c.Trust.MaxIntermediates, 4},
		{"trust.max_signature_checks", c.Trust.MaxSignatureChecks, 16},
		{"revocation.mode", c.Revocation.Mode, RevocationCRLThenOCSP},
		{"revocation.failure", c.Revocation.Failure, FailClosed},
		{"revocation.ocsp_timeout", c.Revocation.OCSPTimeout.Std(), 2 * time.Second},
		{"revocation.crl_grace", c.Revocation.CRLGrace.Std(), time.Hour},
		{"revocation.crl_max_bytes", c.Revocation.CRLMaxBytes, int64(64 << 20)},
		{"revocation.crl_fetch_timeout", c.Revocation.CRLFetchTimeout.Std(), 30 * time.Second},
		{"revocation.follow_redirects", c.Revocation.FollowRedirects, RedirectNone},
		{"sessions.store", c.Sessions.Store, StoreMemory},
		{"sessions.idle_timeout", c.Sessions.IdleTimeout.Std(), 15 * time.Minute},
		{"sessions.absolute_timeout", c.Sessions.AbsoluteTimeout.Std(), 8 * time.Hour},
		{"registry.driver", c.Registry.Driver, DriverSQLite},
		{"registry.dsn", c.Registry.DSN.Value(), "file:cnsgate.db"},
		{"registration.mode", c.Registration.Mode, RegistrationOpen},
		{"audit.sink", c.Audit.Sink, AuditBoth},
		{"audit.retention", c.Audit.Retention.Std(), 8760 * time.Hour},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "json"},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if !reflect.DeepEqual(c, mustParse(t, noFiles(), minimal)) {
		t.Error("parsing twice differs")
	}
	d := Default()
	d.Issuer, d.CNSOrigin = c.Issuer, c.CNSOrigin
	d.TLS, d.Trust.CADirs = c.TLS, c.Trust.CADirs
	if !reflect.DeepEqual(d, c) {
		t.Errorf("Default() differs from a parsed minimal file:\n%+v\n%+v", d, c)
	}
}

func TestListDefaults(t *testing.T) {
	c := mustParse(t, noFiles(), minimal+`
oidc:
  signing_keys: [k.pem]
  subject_salt: `+testSalt+`
  clients:
    - {id: rp, secret: s, redirect_uris: ["https://rp/cb"]}
saml:
  cert_file: idp.crt
  key_file: idp.key
  name_id_salt: a-salt-of-at-least-thirty-two-characters
  service_providers:
    - {entity_id: "https://sp", metadata_file: sp.xml}
`)
	cl := c.OIDC.Clients[0]
	if cl.TokenEndpointAuthMethod != AuthClientSecretBasic || cl.SubjectType != SubjectPairwise || cl.AccessTokenFormat != AccessTokenOpaque || cl.Name != "rp" {
		t.Errorf("client defaults: %+v", cl)
	}
	sp := c.SAML.ServiceProviders[0]
	if sp.AttributeProfile != ProfileSPID || sp.NameIDFormat != NameIDPersistent || sp.Name != "https://sp" ||
		sp.RequireSignedRequests == nil || !*sp.RequireSignedRequests {
		t.Errorf("service provider defaults: %+v", sp)
	}
	if c.SAML.MetadataValidFor.Std() != 30*24*time.Hour || c.SAML.MetadataCacheDuration.Std() != time.Hour || c.SAML.NotBeforeSkew.Std() != time.Minute {
		t.Errorf("saml defaults: valid for %s, cache %s, skew %s", c.SAML.MetadataValidFor, c.SAML.MetadataCacheDuration, c.SAML.NotBeforeSkew)
	}
}

// TestSAMLExplicitValuesKept: require_signed_requests: false and
// not_before_skew: 0 are kept, not taken for unset.
func TestSAMLExplicitValuesKept(t *testing.T) {
	c := mustParse(t, noFiles(), minimal+`
saml:
  cert_file: idp.crt
  key_file: idp.key
  name_id_salt: a-salt-of-at-least-thirty-two-characters
  not_before_skew: 0s
  service_providers:
    - {entity_id: "https://sp", metadata_file: sp.xml, require_signed_requests: false}
`)
	if sp := c.SAML.ServiceProviders[0]; sp.SignedRequests() || c.SAML.NotBeforeSkew != 0 {
		t.Errorf("require_signed_requests %v, not_before_skew %s", sp.SignedRequests(), c.SAML.NotBeforeSkew)
	}
}

func TestExplicitFalseKept(t *testing.T) {
	c := mustParse(t, noFiles(), minimal)
	if !c.Trust.RequireClientAuthEKU {
		t.Fatal("require_client_auth_eku should default to true")
	}
	c = mustParse(t, noFiles(), strings.Replace(minimal, "trust: {ca_dirs: [ca]}", "trust: {ca_dirs: [ca], require_client_auth_eku: false}", 1))
	if c.Trust.RequireClientAuthEKU {
		t.Fatal("an explicit require_client_auth_eku: false was overridden")
	}
}

// TestHSTSDefaultAndZeroKept: one year by default; an explicit 0 (no
// header) is kept, not replaced by the default.
func TestHSTSDefaultAndZeroKept(t *testing.T) {
	c := mustParse(t, noFiles(), minimal)
	if c.TLS.HSTSMaxAge.Std() != 31536000*time.Second || c.TLS.HSTSIncludeSubdomains {
		t.Fatalf("hsts defaults: max-age %s, includeSubDomains %v", c.TLS.HSTSMaxAge, c.TLS.HSTSIncludeSubdomains)
	}
	c = mustParse(t, noFiles(), strings.Replace(minimal, "key_file: server.key}", "key_file: server.key, hsts_max_age: 0s, hsts_include_subdomains: true}", 1))
	if c.TLS.HSTSMaxAge != 0 || !c.TLS.HSTSIncludeSubdomains {
		t.Fatalf("explicit hsts values not kept: max-age %s, includeSubDomains %v", c.TLS.HSTSMaxAge, c.TLS.HSTSIncludeSubdomains)
	}
}

func TestShutdownDrainZeroKept(t *testing.T) {
	c := mustParse(t, noFiles(), minimal)
	if c.Shutdown.Drain.Std() != DefaultShutdownDrain || c.Shutdown.Timeout.Std() != DefaultShutdownTimeout {
		t.Fatalf("shutdown defaults: drain %s timeout %s", c.Shutdown.Drain, c.Shutdown.Timeout)
	}
	c = mustParse(t, noFiles(), minimal+"shutdown: {drain: 0s, timeout: 3s}\n")
	if c.Shutdown.Drain != 0 || c.Shutdown.Timeout.Std() != 3*time.Second {
		t.Fatalf("explicit shutdown values not kept: drain %s timeout %s", c.Shutdown.Drain, c.Shutdown.Timeout)
	}
	_, err := noFiles().Parse([]byte(minimal + "shutdown: {drain: -1s, timeout: -2s}\n"))
	for _, want := range []string{"shutdown: option 'drain' must not be negative", "shutdown: option 'timeout' must be a positive duration"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %q", err, want)
		}
	}
}

func mustParse(t *testing.T, l Loader, doc string) *Config {
	t.Helper()
	c, err := l.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"fail/unknown-top-level-key", minimal + "isuer: x\n", []string{
			"option 'isuer' is unknown; did you mean 'issuer'? (line 6)",
		}},
		{"fail/unknown-nested-keys", minimal + "listen:\n  pubic: ':1'\nsessions:\n  redis:\n    adrs: [a]\n", []string{
			"listen: option 'pubic' is unknown; did you mean 'public'? (line 7)",
			"sessions: redis: option 'adrs' is unknown; did you mean 'addrs'? (line 10)",
		}},
		{"fail/unknown-key-in-client", minimal + "oidc:\n  clients:\n    - id: a\n      redirect_uri: x\n", []string{
			"oidc: clients[0]: option 'redirect_uri' is unknown; did you mean 'redirect_uris'? (line 9)",
			"oidc: option 'signing_keys' is required when 'clients' are configured (line 6)",
			"oidc: option 'subject_salt' is required when 'clients' are configured (line 6)",
			"oidc: clients[0]: option 'redirect_uris' is required (line 8)",
			"oidc: clients[0]: option 'secret' is required when token_endpoint_auth_method is 'client_secret_basic' (line 8)",
		}},
		{"fail/bad-duration", minimal + "sessions:\n  idle_timeout: 15\n  absolute_timeout: soon\n", []string{
			"sessions: option 'idle_timeout': '15' is not a duration such as '2s', '15m' or '8h' (line 7)",
			"sessions: option 'absolute_timeout': 'soon' is not a duration such as '2s', '15m' or '8h' (line 8)",
		}},
		{"fail/wrong-type", minimal + "sessions:\n  redis:\n    db: zero\n    addrs: one\n", []string{
			"sessions: redis: option 'db' must be an integer but it's configured as 'zero' (line 8)",
			"sessions: redis: option 'addrs' must be a list but it's configured as 'one' (line 9)",
		}},
		{"fail/wrong-type-in-block", minimal + "sessions:\n  redis:\n    addrs:\n      a: b\n", []string{
			"sessions: redis: option 'addrs' must be a list but it's configured as a mapping (line 9)",
		}},
		{"fail/wrong-type-in-flow-mapping", minimal + "listen: {public: ':1', cns: [a]}\n", []string{
			"cannot unmarshal !!seq into string (line 6)",
		}},
		{"fail/duplicate-key", minimal + "issuer: https://other.example.it\nlisten:\n  admin: ':1'\n  admin: ':2'\n", []string{
			"option 'issuer' is set twice, first at line 2 (line 6)",
			"listen: option 'admin' is set twice, first at line 8 (line 9)",
		}},
		{"fail/alias-bomb", aliasBomb(24), []string{
			"invalid YAML: document contains excessive aliasing",
		}},
		{"fail/syntax", "issuer: [\n", []string{
			"invalid YAML: did not find expected node content (line 1)",
			// The line is set aside and the rest is read: nothing is left.
			"option 'issuer' is required",
			"option 'cns_origin' is required",
			"tls: option 'cert_file' is required",
			"tls: option 'key_file' is required",
			"trust: one of the options 'ca_dirs', 'tsl_file' or 'tsl_url' is required",
		}},
		{"fail/tab-indent", "listen:\n\tpublic: x\n", []string{
			"invalid YAML: found character that cannot start any token (line 2)",
			"option 'issuer' is required",
			"option 'cns_origin' is required",
			"tls: option 'cert_file' is required",
			"tls: option 'key_file' is required",
			"trust: one of the options 'ca_dirs', 'tsl_file' or 'tsl_url' is required",
		}},
		{"fail/not-a-mapping", "- a\n- b\n", []string{
			"the document must be a mapping of options (line 1)",
		}},
		{"fail/two-documents", minimal + "---\nissuer: y\n", []string{
			"the file must hold one YAML document, not several (line 6)",
		}},
		{"ok/merge-key", minimal + "sessions:\n  <<: {idle_timeout: 20m}\n", nil},
		{"fail/unknown-key-in-merge", minimal + "sessions:\n  <<: {idle: 20m}\n", []string{
			"sessions: option 'idle' is unknown (line 7)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := noFiles().Parse([]byte(tt.doc))
			if got := problemsOf(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// aliasBomb nests n merges of two aliases each: 2^n mappings if expanded.
func aliasBomb(n int) string {
	var b strings.Builder
	b.WriteString("sessions:\n  redis: &a0 {db: 1}\noidc:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  k%d: &a%d {<<: [*a%d, *a%d]}\n", i, i, i-1, i-1)
	}
	fmt.Fprintf(&b, "log:\n  <<: *a%d\n", n)
	return b.String()
}

func TestEmptyDocumentGivesDefaults(t *testing.T) {
	for _, doc := range []string{"", "\n\n", "# only a comment\n", "---\n", "~\n"} {
		_, err := noFiles().Parse([]byte(doc))
		got := problemsOf(t, err)
		want := []string{
			"option 'issuer' is required",
			"option 'cns_origin' is required",
			"tls: option 'cert_file' is required",
			"tls: option 'key_file' is required",
			"trust: one of the options 'ca_dirs', 'tsl_file' or 'tsl_url' is required",
		}
		if !slices.Equal(got, want) {
			t.Errorf("%q: got %q", doc, got)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cnsgate.yaml")
	if err := os.WriteFile(file, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CNSGATE_LISTEN_ADMIN": "127.0.0.1:9999"}
	l := Loader{LookupEnv: lookup(env)}
	c, err := l.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen.Admin != "127.0.0.1:9999" || c.Issuer != "https://login.example.it" {
		t.Errorf("Load: %+v", c.Listen)
	}

	_, err = l.Load(filepath.Join(dir, "missing.yaml"))
	var ve *ValidationError
	if !errors.Is(err, fs.ErrNotExist) || errors.As(err, &ve) {
		t.Errorf("missing file: got %v, want a not-exist error", err)
	}

	// No file at all: the environment alone configures.
	env = map[string]string{
		"CNSGATE_ISSUER":        "https://login.example.it",
		"CNSGATE_CNS_ORIGIN":    "https://cns.example.it",
		"CNSGATE_TLS_CERT_FILE": "c.pem",
		"CNSGATE_TLS_KEY_FILE":  "k.pem",
		"CNSGATE_TRUST_CA_DIRS": "ca",
	}
	if _, err := (Loader{LookupEnv: lookup(env)}).Load(""); err != nil {
		t.Errorf("Load(\"\") with env: %v", err)
	}
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 500 * time.Millisecond: "500ms", 2 * time.Second: "2s", 15 * time.Minute: "15m",
		90 * time.Minute: "1h30m", 8760 * time.Hour: "8760h", time.Hour + time.Second: "1h0m1s",
	} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
		if back, err := parseDuration(want); err != nil || back.Std() != d {
			t.Errorf("parseDuration(%q) = %v, %v", want, back, err)
		}
	}
}

// FuzzParse checks that no document makes loading panic, and that every
// failure is a *ValidationError.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add(Example())
	f.Add([]byte("listen: {public: [a], cns: {b: c}}\nsessions:\n  <<: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := noFiles().Parse(data)
		var ve *ValidationError
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("%T: %v", err, err)
		}
	})
}
