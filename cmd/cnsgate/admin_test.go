package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// TestRegistrationsAndAuditCommands runs the administrative commands on a
// demo configuration (SQLite registry with the pre-registered demo cards).
func TestRegistrationsAndAuditCommands(t *testing.T) {
	setup, err := demo.Prepare(t.TempDir(), demo.DefaultPorts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := setup.ConfigFile
	cli := func(args ...string) (int, string, string) {
		var out, errb strings.Builder
		code := run(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errOut := cli("registrations", "list", "--config", cfg)
	if code != 0 || !strings.Contains(out, "RSSMRA85T10A562S") || !strings.Contains(out, "active") {
		t.Fatalf("list: %d\n%s%s", code, out, errOut)
	}

	csv := filepath.Join(t.TempDir(), "eligible.csv")
	os.WriteFile(csv, []byte("Codice Fiscale;Nome;Cognome\nRSSMRA85T10A562S;Mario;Rossi\nRSSMRA80A01H501U;Giuseppe;Verdi\n"), 0o644)
	code, out, errOut = cli("registrations", "import", "--config", cfg, csv)
	if code != 0 || !strings.Contains(out, "2 inserted") {
		t.Fatalf("import: %d\n%s%s", code, out, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("fiscal_code\nRSSMRA85T10A562T\nNOTACODE\n"), 0o644)
	code, _, errOut = cli("registrations", "import", "--config", cfg, bad)
	if code != 1 || !strings.Contains(errOut, "line 2") || !strings.Contains(errOut, "line 3") {
		t.Fatalf("bad import: %d\n%s", code, errOut)
	}

	code, out, errOut = cli("registrations", "revoke", "--config", cfg, "rssmra85t10a562s")
	if code != 0 || !strings.Contains(out, "1 card registration(s) revoked") {
		t.Fatalf("revoke: %d\n%s%s", code, out, errOut)
	}
	if code, _, _ = cli("registrations", "revoke", "--config", cfg, "RSSMRA85T10A562S"); code != 1 {
		t.Fatalf("second revoke: exit %d, want 1", code)
	}
	// The revocation here records the consent withdrawn through the CLI.
	if c, err := config.Load(cfg); err != nil {
		t.Fatal(err)
	} else if reg, err := sqlstore.Open(context.Background(), string(c.Registry.Driver), c.Registry.DSN.Value()); err != nil {
		t.Fatal(err)
	} else {
		cs, err := reg.Consents(context.Background(), "RSSMRA85T10A562S")
		reg.Close()
		if err != nil || len(cs) != 1 || !cs[0].Withdrawn() || cs[0].WithdrawnChannel != registry.ChannelCLI {
			t.Fatalf("consents after revoke: %+v, %v; want one withdrawn through cli", cs, err)
		}
	}
	code, out, _ = cli("registrations", "list", "--config", cfg, "--status", "revoked", "--json")
	var row map[string]any
	if code != 0 || json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &row) != nil {
		t.Fatalf("list --json: %d %q", code, out)
	}

	code, _, errOut = cli("audit", "query", "--config", cfg, "--since", "1h")
	if code != 0 {
		t.Fatalf("audit query: %d %s", code, errOut)
	}
	if code, _, _ := cli("audit", "query", "--config", cfg, "--outcome", "maybe"); code != 1 {
		t.Fatalf("audit query with a bad outcome: exit %d, want 1", code)
	}
	if code, _, _ := cli("registrations"); code != 2 {
		t.Fatalf("registrations without subcommand: exit %d", code)
	}
}

func TestKeysGenerate(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256"} {
		out := filepath.Join(t.TempDir(), "key.pem")
		var stdout, stderr strings.Builder
		if code := run(context.Background(), []string{"keys", "generate", "--alg", alg, "--out", out}, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", alg, code, stderr.String())
		}
		data, err := os.ReadFile(out)
		if err != nil || !strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----") {
			t.Fatalf("%s: %v %q", alg, err, data)
		}
		if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: key file mode %v", alg, st.Mode())
		}
		// A signing key is never overwritten.
		if code := run(context.Background(), []string{"keys", "generate", "--out", out}, &stdout, &stderr); code != 2 {
			t.Fatalf("overwrite: exit %d", code)
		}
	}
	var stderr strings.Builder
	if code := run(context.Background(), []string{"keys", "generate", "--alg", "HS256"}, io.Discard, &stderr); code != 2 {
		t.Fatalf("HS256: exit %d", code)
	}
}

// TestKeysGenerateBoth: by default keys generate writes an RSA 3072 and an
// EC P-256 key side by side and prints the signing_keys option naming
// them.
func TestKeysGenerateBoth(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"keys", "generate", "--dir", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var cfg struct {
		OIDC struct {
			SigningKeys []string `yaml:"signing_keys"`
		} `yaml:"oidc"`
	}
	if err := yaml.Unmarshal([]byte(stdout.String()), &cfg); err != nil || len(cfg.OIDC.SigningKeys) != 2 {
		t.Fatalf("printed configuration: %v\n%s", err, stdout.String())
	}
	wantKeys := []string{"*rsa.PrivateKey/3072", "*ecdsa.PrivateKey/256"}
	for i, f := range cfg.OIDC.SigningKeys {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		key, err := pemfile.PrivateKey(data)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		switch k := key.(type) {
		case *rsa.PrivateKey:
			got = fmt.Sprintf("%T/%d", k, k.N.BitLen())
		case *ecdsa.PrivateKey:
			got = fmt.Sprintf("%T/%d", k, k.Curve.Params().BitSize)
		}
		if got != wantKeys[i] || filepath.Dir(f) != dir {
			t.Fatalf("key %d: %s in %s, want %s", i, got, f, wantKeys[i])
		}
		if st, _ := os.Stat(f); st.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v", st.Mode())
		}
	}
	// Never overwritten; and --dir with --alg is refused.
	if code := run(context.Background(), []string{"keys", "generate", "--dir", dir}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "never overwritten") {
		t.Fatalf("overwrite: exit %d: %s", code, stderr.String())
	}
	if code := run(context.Background(), []string{"keys", "generate", "--dir", dir, "--alg", "RS256"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("--dir with --alg: exit %d", code)
	}
}
