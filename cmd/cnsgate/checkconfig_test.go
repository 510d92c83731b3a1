package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
)

// mistakes is a configuration with a mistake of every kind on the lines
// marked "# M:name": a syntax error, unknown keys, values of the wrong
// type, bad values, missing files and files that do not hold what their
// option needs. DIR is the test's directory.
const mistakes = `issuer: https://login.example.it
cns_origin: https://cns.example.it
amdin:                                   # M:unknown-admin
  token_file: DIR/absent-token
listen:
  public: ":8443"
  cns: "8444"                            # M:listen-cns
  admin: 127.0.0.1:9464
tls:
  cert_file: DIR/absent.crt              # M:tls-cert
  key_file: DIR/adir                     # M:tls-key
  cns_max_version: "1.4"                 # M:tls-version
  hsts_include_subdomains: maybe         # M:hsts-bool
trust:
  ca_dirs: [DIR/absent-cas]              # M:ca-dirs
  min_rsa_bits: lots                     # M:rsa-int
  max_intermediates: 9                   # M:max-intermediates
  policies: [not-an-oid]                 # M:policies
revocation:
  mode: sometimes                        # M:rev-mode
  ocsp_timeout: soon                     # M:ocsp-timeout
  crl_files: [DIR/absent.crl]            # M:crl-file
sessions:
  store: redis
  idle_timout: 5m                        # M:unknown-idle
  redis:                                 # M:redis-addrs
    db: zero                             # M:redis-db
registry:
  driver: oracle                         # M:registry-driver
registration:
  mode: allowlist
  allowlist_file: DIR/allow.csv          # M:allowlist
oidc:
  signing_keys:
    - DIR/garbage.key                    # M:signing-garbage
    - DIR/absent.key                     # M:signing-absent
  subject_salt: a-subject-salt-of-at-least-thirty-two-characters
  clients:
    - id: esenzioni
      secret_file: DIR/absent.secret     # M:client-secret
      redirect_uris: ["https://rp.example.it/cb"]
saml:
  cert_file: DIR/garbage.crt             # M:saml-cert
  key_file: DIR/garbage.key
  name_id_salt: a-name-id-salt-of-at-least-thirty-two-characters
  service_providers:
    - entity_id: https://sp.example.it
      metadata_file: DIR/absent.xml      # M:sp-metadata
log:
  level: loud                            # M:log-level
	format: json                           # M:syntax-tab
limits: {pending_max: many}              # M:limits-int
shutdown:
  drain: [1s]                            # M:drain-list
`

// TestCheckConfigReportsEveryMistake runs check-config on a configuration
// holding more than twenty mistakes of every kind and requires each one in
// a single run, with its option's path and its line.
func TestCheckConfigReportsEveryMistake(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("garbage.key", "this is not a PEM key\n")
	write("garbage.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	write("allow.csv", "fiscal_code;given_name;family_name\nRSSMRA85T10A562S;Mario;Rossi\nRSSMRA85T10A562X;Bad;Check\nnot-a-fiscal-code;No;One\n")
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(mistakes, "DIR", dir)
	cfgFile := filepath.Join(dir, "cnsgate.yaml")
	write("cnsgate.yaml", doc)

	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"check-config", "--config", cfgFile}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stderr.String()
	t.Logf("check-config said:\n%s", out)
	if strings.Contains(stdout.String(), "configuration is valid") {
		t.Fatal("a configuration with mistakes was called valid")
	}
	line := markers(t, doc)
	// name of the marked line -> what the problem on that line must say.
	want := map[string]string{
		"unknown-admin":     "option 'amdin' is unknown; did you mean 'admin'?",
		"listen-cns":        "listen: option 'cns' must be a host:port address but it's configured as '8444'",
		"tls-cert":          "tls: option 'cert_file': cannot read '" + dir + "/absent.crt': no such file or directory",
		"tls-key":           "tls: option 'key_file': cannot read '" + dir + "/adir': is a directory",
		"tls-version":       "tls: option 'cns_max_version' must be one of",
		"hsts-bool":         "tls: option 'hsts_include_subdomains' must be true or false but it's configured as 'maybe'",
		"ca-dirs":           "trust: option 'ca_dirs[0]': x509cns: trust directory",
		"rsa-int":           "trust: option 'min_rsa_bits' must be an integer but it's configured as 'lots'",
		"max-intermediates": "trust: option 'max_intermediates' must be between 1 and 7",
		"policies":          "trust: option 'policies' has an item 'not-an-oid' that is not an object identifier",
		"rev-mode":          "revocation: option 'mode' must be one of",
		"ocsp-timeout":      "revocation: option 'ocsp_timeout': 'soon' is not a duration",
		"crl-file":          "revocation: option 'crl_files[0]': cannot read '" + dir + "/absent.crl': no such file or directory",
		"unknown-idle":      "sessions: option 'idle_timout' is unknown; did you mean 'idle_timeout'?",
		"redis-addrs":       "sessions: redis: option 'addrs' is required when store is 'redis'",
		"redis-db":          "sessions: redis: option 'db' must be an integer but it's configured as 'zero'",
		"registry-driver":   "registry: option 'driver' must be one of 'sqlite', 'postgres' but it's configured as 'oracle'",
		"allowlist":         "registration: option 'allowlist_file': '" + dir + "/allow.csv' line 3:",
		"signing-garbage":   "oidc: option 'signing_keys[0]': '" + dir + "/garbage.key': ",
		"signing-absent":    "oidc: option 'signing_keys[1]': cannot read '" + dir + "/absent.key': no such file or directory",
		"client-secret":     "oidc: clients[0]: option 'secret_file': cannot read '" + dir + "/absent.secret': no such file or directory",
		"saml-cert":         "saml: option 'cert_file': saml: cert_file:",
		"sp-metadata":       "saml: service_providers[0]: option 'metadata_file': cannot read '" + dir + "/absent.xml': no such file or directory",
		"log-level":         "log: option 'level' must be one of",
		"syntax-tab":        "invalid YAML: found character that cannot start any token",
		"limits-int":        "limits: option 'pending_max' must be an integer but it's configured as 'many'",
		"drain-list":        "shutdown: option 'drain': a duration must be a string such as '15m'",
	}
	if len(want) < 20 {
		t.Fatalf("only %d mistakes", len(want))
	}
	problems := strings.Split(strings.TrimSpace(out), "\n")[1:]
	for name, msg := range want {
		suffix := fmt.Sprintf("(line %d)", line[name])
		found := false
		for _, p := range problems {
			p = strings.TrimSpace(p)
			if strings.Contains(p, msg) && strings.HasSuffix(p, suffix) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: no problem %q %s", name, msg, suffix)
		}
	}
	// The second bad row of the allowlist too, and every problem is placed.
	if !strings.Contains(out, "allow.csv' line 4:") {
		t.Error("the allowlist's second bad row is not reported")
	}
	for _, p := range problems {
		if !regexp.MustCompile(`\(line \d+\)$`).MatchString(p) {
			t.Errorf("problem without a line: %s", p)
		}
	}
	if !strings.HasPrefix(out, fmt.Sprintf("%s: %d problem(s):", cfgFile, len(problems))) {
		t.Errorf("the count does not match the problems listed:\n%s", out)
	}
}

// markers maps each "# M:name" of doc to its line.
func markers(t *testing.T, doc string) map[string]int {
	t.Helper()
	m := map[string]int{}
	for i, l := range strings.Split(doc, "\n") {
		if _, name, ok := strings.Cut(l, "# M:"); ok {
			m[strings.TrimSpace(name)] = i + 1
		}
	}
	return m
}

// TestCheckConfigIsServesDryRun: a demo configuration is valid; once its
// TLS certificate or its token signing key is gone, check-config says so
// (it used to call such a configuration valid, and serve then stopped).
func TestCheckConfigIsServesDryRun(t *testing.T) {
	dir := t.TempDir()
	setup, err := demo.Prepare(dir, demo.DefaultPorts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	check := func() (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"check-config", "--config", setup.ConfigFile}, &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	if code, out := check(); code != 0 {
		t.Fatalf("demo configuration: exit %d\n%s", code, out)
	}
	cfg, err := config.Load(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ option, file string }{
		{"tls: option 'cert_file'", cfg.TLS.CertFile},
		{"oidc: option 'signing_keys[0]'", cfg.OIDC.SigningKeys[0]},
	} {
		if err := os.Rename(f.file, f.file+".moved"); err != nil {
			t.Fatal(err)
		}
		code, out := check()
		if code != 1 || !strings.Contains(out, f.option+": cannot read '"+f.file+"': no such file or directory (line ") {
			t.Errorf("without %s: exit %d\n%s", f.file, code, out)
		}
		if err := os.Rename(f.file+".moved", f.file); err != nil {
			t.Fatal(err)
		}
	}
}
