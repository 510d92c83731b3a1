package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
)

// TestHelpEveryCommand asks every command and subcommand for help, in each
// spelling: the help goes to standard output, names the command and its
// flags, and the exit code is 0.
func TestHelpEveryCommand(t *testing.T) {
	commands := []struct {
		args []string
		want []string // what the help must mention
	}{
		{[]string{"serve"}, []string{"cnsgate serve --config FILE", "-config", "SIGHUP", "SIGTERM", "config/example.yaml", "allowlist"}},
		{[]string{"demo"}, []string{"cnsgate demo", "-dir", "-public", "-cns", "-admin", "-esenzioni", "-cms", "-prepare"}},
		{[]string{"check-config"}, []string{"cnsgate check-config --config FILE", "-config", "-print"}},
		{[]string{"inspect"}, []string{"cnsgate inspect", "-trust", "-at", "-revocation"}},
		{[]string{"registrations"}, []string{"registrations import", "registrations list", "registrations revoke"}},
		{[]string{"registrations", "import"}, []string{"cnsgate registrations import", "-config", "-replace"}},
		{[]string{"registrations", "list"}, []string{"cnsgate registrations list", "-config", "-status", "-fiscal-code", "-json"}},
		{[]string{"registrations", "revoke"}, []string{"cnsgate registrations revoke", "-config"}},
		{[]string{"audit"}, []string{"cnsgate audit query"}},
		{[]string{"audit", "query"}, []string{"cnsgate audit query", "-config", "-since", "-fiscal-code", "-outcome", "-kind"}},
		{[]string{"keys"}, []string{"cnsgate keys generate"}},
		{[]string{"keys", "generate"}, []string{"cnsgate keys generate", "-alg", "-out"}},
		{[]string{"version"}, []string{"cnsgate version"}},
	}
	for _, c := range commands {
		for _, h := range []string{"--help", "-h", "-help"} {
			args := append(append([]string{}, c.args...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
					t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
				}
				for _, w := range c.want {
					if !strings.Contains(stdout.String(), w) {
						t.Errorf("help does not mention %q:\n%s", w, stdout.String())
					}
				}
				if stderr.Len() != 0 {
					t.Errorf("help wrote to stderr:\n%s", stderr.String())
				}
			})
		}
	}
	// The top level, and help given with other flags before it.
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"check-config", "--config", "x.yaml", "--help"}} {
		var stdout bytes.Buffer
		if code := run(context.Background(), args, &stdout, &bytes.Buffer{}); code != 0 || stdout.Len() == 0 {
			t.Errorf("%q: exit %d with %d bytes of help, want 0 and the help", args, code, stdout.Len())
		}
	}
}

// TestUsageErrorsExit2: a wrong command line is still an error, on stderr.
func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"registrations"}, {"registrations", "nope"}, {"audit"}, {"audit", "nope"},
		{"keys"}, {"keys", "nope"}, {"serve", "--bogus"}, {"serve"}, {"check-config"}, {"demo", "--bogus"}, {"inspect"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if stderr.Len() == 0 {
			t.Errorf("%q: nothing on stderr", args)
		}
	}
}

// TestReadmeListsCommandsAndReasons: README's command table has a row for
// every command and subcommand, and its list of refusal reasons holds
// every reason.
func TestReadmeListsCommandsAndReasons(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	for _, c := range []string{"serve", "demo", "check-config", "inspect", "registrations import", "registrations list",
		"registrations revoke", "audit query", "keys generate", "version"} {
		if !strings.Contains(readme, "| `cnsgate "+c) {
			t.Errorf("README's command table has no row for cnsgate %s", c)
		}
	}
	for _, r := range x509cns.Reasons() {
		if !strings.Contains(readme, "`"+string(r)+"`") {
			t.Errorf("README does not list the refusal reason %s", r)
		}
	}
}
