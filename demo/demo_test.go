package demo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

var testPorts = Ports{Public: "127.0.0.1:18443", CNS: "127.0.0.1:18444", Admin: "127.0.0.1:19464", Esenzioni: "localhost:18081"}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadConfig(t *testing.T, s *Setup) *config.Config {
	t.Helper()
	cfg, err := config.Load(s.ConfigFile)
	if err != nil {
		t.Fatalf("the demo configuration does not load: %v\n%s", err, readFile(t, s.ConfigFile))
	}
	return cfg
}

func TestPrepareRegistersEsenzioni(t *testing.T) {
	s, err := Prepare(t.TempDir(), testPorts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Created || s.Esenzioni == nil {
		t.Fatalf("created %v, esenzioni %+v", s.Created, s.Esenzioni)
	}
	cfg := loadConfig(t, s)
	// Esenzioni, then the example client of the cie profile.
	if len(cfg.OIDC.Clients) != 2 || cfg.OIDC.Clients[1].ID != CIEExampleClientID || cfg.OIDC.Clients[1].Profile != "cie" ||
		cfg.OIDC.Clients[1].TokenEndpointAuthMethod != "private_key_jwt" || !strings.Contains(cfg.OIDC.Clients[1].JWKS, `"use":"enc"`) {
		t.Fatalf("%d clients: %+v", len(cfg.OIDC.Clients), cfg.OIDC.Clients)
	}
	c := cfg.OIDC.Clients[0]
	want := config.Client{ID: "esenzioni", Name: "Esenzioni da reddito",
		RedirectURIs:           []string{"https://localhost:18081/callback"},
		PostLogoutRedirectURIs: []string{"https://localhost:18081/logged-out"},
		BackchannelLogoutURI:   "https://localhost:18081/backchannel-logout", HomeURL: "https://localhost:18081/"}
	if c.ID != want.ID || c.Name != want.Name || c.RedirectURIs[0] != want.RedirectURIs[0] ||
		c.PostLogoutRedirectURIs[0] != want.PostLogoutRedirectURIs[0] || c.BackchannelLogoutURI != want.BackchannelLogoutURI || c.HomeURL != want.HomeURL {
		t.Fatalf("client %+v", c)
	}
	secret := strings.TrimSpace(string(readFile(t, s.Esenzioni.SecretFile)))
	if c.Secret.Value() != secret || len(secret) < 32 {
		t.Fatalf("client secret not the file's, or short (%d)", len(secret))
	}
	if n := len(cfg.OIDC.SubjectSalt.Value()); n < config.MinSubjectSaltLength {
		t.Fatalf("subject salt of %d characters", n)
	}
	for _, f := range append(s.signingKeyPaths(), s.subjectSaltPath(), s.Esenzioni.SecretFile) {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	// An RSA and an EC P-256 signing key side by side, both configured.
	if !slices.Equal(cfg.OIDC.SigningKeys, s.signingKeyPaths()) {
		t.Fatalf("signing_keys %v, want %v", cfg.OIDC.SigningKeys, s.signingKeyPaths())
	}
	for i, want := range []string{"*rsa.PrivateKey", "*ecdsa.PrivateKey"} {
		key, err := pemfile.PrivateKey(readFile(t, s.signingKeyPaths()[i]))
		if got := fmt.Sprintf("%T", key); err != nil || got != want {
			t.Fatalf("signing key %d: %s %v, want %s", i, got, err, want)
		}
	}
	if !bytes.Equal(readFile(t, filepath.Join(s.TLSRootsDir, "ca.crt")), readFile(t, s.TLSCAFile)) {
		t.Fatal("tls/roots does not hold the demo TLS CA")
	}
}

// TestPrepareUpgradesInPlace: a directory written before the demo had
// relying parties (PKI, cards, database, no oidc/ nor tls/roots/) is
// reused: what it has stays, what it lacks is created, and the secrets
// then stay the same from run to run.
func TestPrepareUpgradesInPlace(t *testing.T) {
	dir := t.TempDir()
	old, err := Prepare(dir, Ports{Public: testPorts.Public, CNS: testPorts.CNS, Admin: testPorts.Admin}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// What the earlier version wrote: no oidc section, no oidc/ files.
	if strings.Contains(string(readFile(t, old.ConfigFile)), "oidc:") {
		t.Fatal("configuration without relying party has an oidc section")
	}
	loadConfig(t, old)
	for _, p := range []string{filepath.Join(dir, oidcDir), old.TLSRootsDir} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
	kept := map[string][]byte{}
	for _, f := range []string{"pki/ca.crt", "pki/ca.key", "tls/server.crt", "tls/server.key", "cards/citizen.crt", "cards/unregistered.key", "cnsgate.db"} {
		kept[f] = readFile(t, filepath.Join(dir, f))
	}

	s, err := Prepare(dir, testPorts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.Created {
		t.Fatal("an existing directory was created anew")
	}
	for f, data := range kept {
		if !bytes.Equal(readFile(t, filepath.Join(dir, f)), data) {
			t.Errorf("%s changed", f)
		}
	}
	cfg := loadConfig(t, s)
	// Esenzioni, and the example cie client (keys made at the upgrade).
	if len(cfg.OIDC.Clients) != 2 || cfg.OIDC.Clients[0].RedirectURIs[0] != "https://localhost:18081/callback" ||
		cfg.OIDC.Clients[1].ID != CIEExampleClientID || cfg.OIDC.Clients[1].Profile != "cie" {
		t.Fatalf("upgraded configuration: %+v", cfg.OIDC)
	}

	// Later runs keep the secrets, and the URLs follow --esenzioni.
	files := append(s.signingKeyPaths(), s.subjectSaltPath(), s.Esenzioni.SecretFile)
	files = append(files, s.CIEExampleKeyFiles()...)
	before := map[string][]byte{}
	for _, f := range files {
		before[f] = readFile(t, f)
	}
	moved := testPorts
	moved.Esenzioni = "127.0.0.1:18091"
	s, err = Prepare(dir, moved, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !bytes.Equal(readFile(t, f), before[f]) {
			t.Errorf("%s rewritten by a later run", f)
		}
	}
	if cfg := loadConfig(t, s); cfg.OIDC.Clients[0].RedirectURIs[0] != "https://127.0.0.1:18091/callback" {
		t.Fatalf("redirect URI did not follow the port: %v", cfg.OIDC.Clients[0].RedirectURIs)
	}

	// One missing file is made again; the others stay.
	if err := os.Remove(s.Esenzioni.SecretFile); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(dir, moved, time.Now()); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(readFile(t, s.Esenzioni.SecretFile), before[s.Esenzioni.SecretFile]) {
		t.Error("the client secret was not made anew")
	}
	if !bytes.Equal(readFile(t, s.subjectSaltPath()), before[s.subjectSaltPath()]) {
		t.Error("the subject salt changed")
	}
}
