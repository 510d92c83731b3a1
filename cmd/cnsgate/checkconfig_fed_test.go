package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/demo"
)

// TestCheckConfigFederation: the demo's federation section is valid; a
// missing or unusable federation key and a trust anchor key file that is
// not a JWK Set are reported on their lines, as serve would stop on them.
func TestCheckConfigFederation(t *testing.T) {
	setup, err := demo.Prepare(t.TempDir(), demo.DefaultPorts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	check := func() (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"check-config", "--config", setup.ConfigFile}, &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	if code, out := check(); code != 0 || !strings.Contains(string(mustRead(t, setup.ConfigFile)), "federation:") {
		t.Fatalf("demo configuration with its federation: exit %d\n%s", code, out)
	}
	key, jwks := setup.FederationKeyFile(), setup.TrustAnchorJWKSFile()
	if err := os.WriteFile(key, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jwks, []byte(`{"keys":"none"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := check()
	for _, want := range []string{
		"federation: option 'signing_keys[0]': '" + key + "': federation: unusable signing key: key 1:",
		"federation: trust_anchors[0]: option 'jwks_file': '" + jwks + "' is not a JWK Set",
	} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("exit %d, want a problem %q:\n%s", code, want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "federation") && !strings.Contains(l, "(line ") {
			t.Errorf("problem without its line: %s", l)
		}
	}
	t.Logf("check-config said:\n%s", out)
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
