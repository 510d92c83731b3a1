package demo

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// The Esenzioni relying party's client registration. Its endpoints are
// under the origin of Ports.Esenzioni.
const (
	EsenzioniClientID = "esenzioni"
	EsenzioniName     = "Esenzioni da reddito"

	// Paths of the relying party, registered in the configuration.
	EsenzioniCallbackPath          = "/callback"
	EsenzioniLoggedOutPath         = "/logged-out"
	EsenzioniBackchannelLogoutPath = "/backchannel-logout"
)

// RelyingParty is an example OpenID Connect client of the demo: what the
// configuration registers for it and what the relying party itself needs
// to run.
type RelyingParty struct {
	ClientID   string
	Name       string
	SecretFile string // client secret, shared by cnsgate and the relying party
	Addr       string // host:port it listens on
	// BaseURL is its origin (https://localhost:8081), also its home_url.
	BaseURL               string
	RedirectURL           string
	PostLogoutRedirectURL string
	BackchannelLogoutURL  string
}

// Files of the OpenID Provider, created once in the demo directory and kept.
const (
	oidcDir          = "oidc"
	subjectSaltFile  = "subject-salt"
	secretFileSuffix = "-client-secret"
)

// signingKeys are the provider's token signing keys, side by side: RSA
// (RS256, the default of ID tokens, and PS256) and EC P-256 (ES256). A demo
// directory of an earlier version, which had only the EC key, gets the RSA
// key it lacks.
var signingKeys = []struct{ alg, file string }{
	{pemfile.AlgRS256, "signing-rs256.pem"},
	{pemfile.AlgES256, "signing-es256.pem"},
}

// signingKeyPaths are the files of signingKeys.
func (s *Setup) signingKeyPaths() []string {
	out := make([]string, len(signingKeys))
	for i, k := range signingKeys {
		out[i] = filepath.Join(s.Dir, oidcDir, k.file)
	}
	return out
}

func (s *Setup) subjectSaltPath() string { return filepath.Join(s.Dir, oidcDir, subjectSaltFile) }

// esenzioniPlan describes the Esenzioni relying party listening on addr.
func (s *Setup) esenzioniPlan(addr string) *RelyingParty {
	base := "https://" + originHost(addr)
	return &RelyingParty{
		ClientID: EsenzioniClientID, Name: EsenzioniName,
		SecretFile: filepath.Join(s.Dir, oidcDir, EsenzioniClientID+secretFileSuffix),
		Addr:       addr, BaseURL: base,
		RedirectURL:           base + EsenzioniCallbackPath,
		PostLogoutRedirectURL: base + EsenzioniLoggedOutPath,
		BackchannelLogoutURL:  base + EsenzioniBackchannelLogoutPath,
	}
}

// ensureOIDC creates whichever of the provider's files is missing: the
// signing keys, the subject salt and each relying party's client secret.
// Existing files are never rewritten: subjects and secrets stay stable
// across runs.
func (s *Setup) ensureOIDC() error {
	if err := os.MkdirAll(filepath.Join(s.Dir, oidcDir), 0o700); err != nil {
		return err
	}
	for i, path := range s.signingKeyPaths() {
		alg := signingKeys[i].alg
		if err := createOnce(path, func() ([]byte, error) { return pemfile.GenerateKey(alg) }); err != nil {
			return fmt.Errorf("demo %s signing key: %w", alg, err)
		}
	}
	// 48 random bytes: 64 characters, above the 32 the provider requires.
	if err := createOnce(s.subjectSaltPath(), randomText(48)); err != nil {
		return fmt.Errorf("demo subject salt: %w", err)
	}
	for _, rp := range s.RelyingParties() {
		if err := createOnce(rp.SecretFile, randomText(32)); err != nil {
			return fmt.Errorf("demo client secret of %s: %w", rp.ClientID, err)
		}
	}
	return s.ensureCIEExample()
}

// RelyingParties lists the example relying parties the configuration
// registers.
func (s *Setup) RelyingParties() []*RelyingParty {
	var out []*RelyingParty
	if s.Esenzioni != nil {
		out = append(out, s.Esenzioni)
	}
	return out
}

// ensureTLSRoots keeps a directory holding only the demo TLS CA, for
// tools that must trust it through SSL_CERT_DIR (see TLSRootsDir).
func (s *Setup) ensureTLSRoots() error {
	ca, err := os.ReadFile(s.TLSCAFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.TLSRootsDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.TLSRootsDir, "ca.crt"), ca, 0o644)
}

// createOnce writes the output of make to path with mode 0600 unless path
// already exists.
func createOnce(path string, make func() ([]byte, error)) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	data, err := make()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// randomText returns a maker of n random bytes as unpadded base64url text
// and a newline.
func randomText(n int) func() ([]byte, error) {
	return func() ([]byte, error) {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		return []byte(base64.RawURLEncoding.EncodeToString(b) + "\n"), nil
	}
}

// originHost is the host:port of an origin for a listen address: a
// wildcard host becomes localhost.
func originHost(hp string) string {
	h, port, err := net.SplitHostPort(hp)
	if err != nil {
		return hp
	}
	if h == "" || h == "0.0.0.0" || h == "::" {
		h = "localhost"
	}
	return net.JoinHostPort(h, port)
}

// writeOIDCConfig appends the oidc section registering the relying
// parties, and the example cie client after them.
func (s *Setup) writeOIDCConfig(b *strings.Builder) error {
	rps := s.RelyingParties()
	if len(rps) == 0 {
		return nil
	}
	keys := s.signingKeyPaths()
	fmt.Fprintf(b, "oidc:\n  signing_keys: [%q, %q]\n  subject_salt_file: %q\n  clients:\n", keys[0], keys[1], s.subjectSaltPath())
	for _, rp := range rps {
		fmt.Fprintf(b, "    - id: %s\n      name: %q\n      secret_file: %q\n", rp.ClientID, rp.Name, rp.SecretFile)
		fmt.Fprintf(b, "      redirect_uris: [%q]\n      post_logout_redirect_uris: [%q]\n", rp.RedirectURL, rp.PostLogoutRedirectURL)
		fmt.Fprintf(b, "      backchannel_logout_uri: %q\n      scopes: [openid, profile, fiscal_number]\n      home_url: %q\n",
			rp.BackchannelLogoutURL, rp.BaseURL+"/")
	}
	return s.writeCIEExampleConfig(b)
}
