package config

import (
	"strings"
	"testing"
)

// TestConsoleConfig: the console's keys, refused with their lines when
// listen.console is set without an https origin of its own, the role is
// not among operators.roles, or the OpenID Provider's keys are missing.
func TestConsoleConfig(t *testing.T) {
	doc := `
issuer: https://login.example.it
listen: {console: ":8445"}
operators:
  roles: [operatore_asl]
console:
  origin: http://console.example.it
`
	_, err := Loader{LookupEnv: lookup(nil), ReadFile: noFiles().ReadFile}.Parse([]byte(doc))
	got := strings.Join(problemsOf(t, err), "\n")
	for _, want := range []string{
		"console: option 'origin' must be an https URL (its session cookie is __Host-) but it's configured as 'http://console.example.it' (line 7)",
		"console: the console logs in through cnsgate's OpenID Connect provider: oidc.signing_keys and oidc.subject_salt are required (line 6)",
		"console: option 'role' names 'security', which is not one of operators.roles (line 6)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	doc = "issuer: https://login.example.it\nconsole:\n  origin: https://login.example.it\n"
	_, err = Loader{LookupEnv: lookup(nil), ReadFile: noFiles().ReadFile}.Parse([]byte(doc))
	if got := strings.Join(problemsOf(t, err), "\n"); !strings.Contains(got, "console: option 'origin' needs listen.console (the console's own listener) (line 3)") {
		t.Errorf("origin without listen.console:\n%s", got)
	}
	doc = "issuer: https://login.example.it\ncns_origin: https://cns.login.example.it\nlisten: {console: \":8445\"}\nconsole:\n  origin: https://login.example.it\n"
	_, err = Loader{LookupEnv: lookup(nil), ReadFile: noFiles().ReadFile}.Parse([]byte(doc))
	if got := strings.Join(problemsOf(t, err), "\n"); !strings.Contains(got, "console: option 'origin' must differ from 'issuer' and 'cns_origin'") {
		t.Errorf("the issuer's origin:\n%s", got)
	}
}
