package config

import (
	"slices"
	"strings"
	"testing"
)

// TestConsentVersion: registration.consent_version defaults to "1"; a
// value with spaces or too long is refused with its line.
func TestConsentVersion(t *testing.T) {
	base := "issuer: https://login.example.it\ncns_origin: https://cns.example.it:8444\n" +
		"tls: {cert_file: c.pem, key_file: k.pem}\ntrust: {ca_dirs: [ca]}\n"
	l := Loader{LookupEnv: lookup(nil), ReadFile: noFiles().ReadFile}
	cfg, err := l.Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Registration.ConsentVersion != DefaultConsentVersion {
		t.Fatalf("default consent_version %q, want %q", cfg.Registration.ConsentVersion, DefaultConsentVersion)
	}
	cfg, err = l.Parse([]byte(base + "registration:\n  consent_version: 2026-03\n"))
	if err != nil || cfg.Registration.ConsentVersion != "2026-03" {
		t.Fatalf("consent_version 2026-03: %v, %v", cfg, err)
	}
	for _, bad := range []string{"'v 1'", strings.Repeat("x", 65)} {
		_, err := l.Parse([]byte(base + "registration:\n  mode: open\n  consent_version: " + bad + "\n"))
		got := problemsOf(t, err)
		want := "registration: option 'consent_version' must be 1 to 64 letters, digits, '.', '-' or '_' but it's configured as '" +
			strings.Trim(bad, "'") + "' (line 7)"
		if !slices.Contains(got, want) {
			t.Errorf("consent_version %s: got %q, want %q", bad, got, want)
		}
	}
}
