package config

import (
	"slices"
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	known := newWalker(&problems{}).fieldsOf(configType)
	for unknown, want := range map[string]string{
		"amdin": "admin", "isuer": "issuer", "regsitry": "registry", "sesions": "sessions",
		"cns_orgin": "cns_origin", "oicd": "oidc", "zzzzzz": "", "tlsx_cert": "",
	} {
		if got := suggest(unknown, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", unknown, got, want)
		}
	}
}

// TestSyntaxErrorsAndTheRest: lines with syntax errors are reported and set
// aside, and the problems of the other lines are found in the same run.
func TestSyntaxErrorsAndTheRest(t *testing.T) {
	doc := minimal + "listen:\n\tpublic: x\n  admin: nope\nlog: {level: loud}\nlimits:\n  pending_max: [1]\n"
	_, err := noFiles().Parse([]byte(doc))
	got := problemsOf(t, err)
	for _, want := range []string{
		"invalid YAML: found character that cannot start any token (line 7)",
		"listen: option 'admin' must be a host:port address but it's configured as 'nope' (line 8)",
		"log: option 'level' must be one of 'debug', 'info', 'warn', 'error' but it's configured as 'loud' (line 9)",
		"limits: option 'pending_max' must be an integer but it's configured as a list (line 11)",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %q in\n  %s", want, strings.Join(got, "\n  "))
		}
	}
}

func TestLinesOf(t *testing.T) {
	l := Lines{"trust": 3, "trust.ca_dirs": 4, "trust.ca_dirs[1]": 6, "oidc.clients[0]": 9}
	for path, want := range map[string]int{
		"trust.ca_dirs[1]": 6, "trust.ca_dirs[0]": 4, "trust.tsl_file": 3, "oidc.clients[0].secret_file": 9, "saml.cert_file": 0,
	} {
		if got := l.Of(path); got != want {
			t.Errorf("Of(%q) = %d, want %d", path, got, want)
		}
	}
}
