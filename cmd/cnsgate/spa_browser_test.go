package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/demo"
)

//go:embed testdata/spa/index.html
var spaPage string

// spaDriver is the playwright-core script that drives Chromium through the
// page (scripts/browser, installed by `npm ci --prefix scripts/browser`).
const spaDriver = "../../scripts/browser/spa-cors.mjs"

// requireBrowser finds what the browser test needs; under CI a missing
// piece is a failure, elsewhere the test is skipped, saying how to get it.
func requireBrowser(t *testing.T) (node, chromium string) {
	t.Helper()
	node = requireTool(t, "node", "nodejs npm")
	requireTool(t, "certutil", "libnss3-tools")
	requireTool(t, "pk12util", "libnss3-tools")
	requireTool(t, "openssl", "openssl")
	chromium = "/usr/bin/chromium"
	missing := ""
	if _, err := os.Stat(chromium); err != nil {
		missing = "Chromium is not installed (apt-get install -y chromium libnss3-tools)"
	} else if _, err := os.Stat("../../scripts/browser/node_modules/playwright-core"); err != nil {
		missing = "playwright-core is not installed: run `npm ci --prefix scripts/browser`"
	} else if err := os.MkdirAll("/etc/chromium/policies/managed", 0o755); err != nil || os.Geteuid() != 0 {
		missing = "the browser test writes a Chromium policy in /etc/chromium/policies/managed: run it as root"
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatal(missing)
		}
		t.Skip(missing)
	}
	return node, chromium
}

// browserHome makes a HOME whose NSS database holds the card (PKCS#12, as
// a citizen imports it) and trusts the demo TLS CA.
func browserHome(t *testing.T, setup *demo.Setup, card demo.Card) string {
	t.Helper()
	home := t.TempDir()
	db := "sql:" + filepath.Join(home, ".pki", "nssdb")
	p12 := filepath.Join(home, card.Name+".p12")
	for _, args := range [][]string{
		{"openssl", "pkcs12", "-export", "-in", card.ChainFile, "-inkey", card.KeyFile, "-name", "cnsgate demo " + card.Name, "-out", p12, "-passout", "pass:demo"},
		{"mkdir", "-p", filepath.Join(home, ".pki", "nssdb")},
		{"certutil", "-d", db, "-N", "--empty-password"},
		{"pk12util", "-d", db, "-i", p12, "-W", "demo"},
		{"certutil", "-d", db, "-A", "-n", "cnsgate demo TLS CA", "-t", "C,,", "-i", setup.TLSCAFile},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return home
}

// TestSinglePageAppInChromium: a single-page application on its own
// loopback origin, a public client (PKCE, no secret) registered with only
// its redirect URI, logs a citizen in with the demo card in headless
// Chromium and calls discovery, /jwks, /token (code and refresh),
// /userinfo (preflighted: Authorization header) and /revoke by
// cross-origin fetch; a page on an origin no client registered gets none
// of those answers.
func TestSinglePageAppInChromium(t *testing.T) {
	node, chromium := requireBrowser(t)
	var issuer atomic.Value // set once the server is up, read by the pages
	issuer.Store("")
	pages := func(path string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" && r.URL.Path != path {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, strings.NewReplacer("{{ISSUER}}", issuer.Load().(string), "{{CLIENT}}", "spa").Replace(spaPage))
		}))
	}
	spa, probe := pages("/callback"), pages("/probe")
	defer spa.Close()
	defer probe.Close()
	keyFile := filepath.Join(t.TempDir(), "signing.pem")
	if code := run(context.Background(), []string{"keys", "generate", "--out", keyFile}, io.Discard, io.Discard); code != 0 {
		t.Fatal("keys generate failed")
	}
	s := startServer(t, func(y string) string {
		return y + "oidc:\n  subject_salt: " + strings.Repeat("s", 40) + "\n  signing_keys: [" + keyFile + "]\n" +
			"  clients:\n    - id: spa\n      token_endpoint_auth_method: none\n      subject_type: public\n" +
			"      redirect_uris: [" + spa.URL + "/callback]\n"
	})
	issuer.Store(s.cfg.Issuer)
	citizen, _ := s.setup.Card("citizen")
	home := browserHome(t, s.setup, citizen)
	shots := filepath.Join(t.TempDir(), "shots")
	_ = os.MkdirAll(shots, 0o755)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, spaDriver)
	cmd.Env = append(os.Environ(), "SPA="+spa.URL, "PROBE="+probe.URL, "CNS="+s.cfg.CNSOrigin,
		"HOME_DIR="+home, "SHOTS="+shots, "CHROMIUM="+chromium)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("the browser journey failed: %v\n%s\n%s\nscreenshots in %s", err, out, stderr, shots)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var got struct {
		Flow struct {
			OK           bool   `json:"ok"`
			Error        string `json:"error"`
			Nonce        bool   `json:"nonce"`
			Sub          string `json:"sub"`
			FiscalNumber string `json:"fiscal_number"`
			UserinfoSub  string `json:"userinfo_sub"`
			JWKSKeys     int    `json:"jwks_keys"`
			Refreshed    int    `json:"refreshed"`
			Rotated      bool   `json:"rotated"`
			Revoked      int    `json:"revoked"`
			AfterRevoke  string `json:"after_revoke"`
		} `json:"flow"`
		Probe struct {
			Tries map[string]string `json:"tries"`
		} `json:"probe"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("the browser journey said:\n%s", out)
	}
	f := got.Flow
	if !f.OK || !f.Nonce || f.FiscalNumber != "TINIT-"+citizen.FiscalCode || f.UserinfoSub != f.Sub || f.Sub == "" ||
		f.JWKSKeys < 1 || f.Refreshed != http.StatusOK || !f.Rotated || f.Revoked != http.StatusOK || f.AfterRevoke != "invalid_grant" {
		t.Fatalf("the single-page app saw: %+v", f)
	}
	if len(got.Probe.Tries) != 4 {
		t.Fatalf("probe: %v", got.Probe.Tries)
	}
	for name, r := range got.Probe.Tries {
		if !strings.HasPrefix(r, "blocked") {
			t.Errorf("a page of an unregistered origin could read %s: %s", name, r)
		}
	}
	t.Logf("single-page app at %s: logged in as %s, userinfo, refresh, revoke by CORS; unregistered origin %s blocked: %v",
		spa.URL, f.FiscalNumber[:9]+"…", probe.URL, got.Probe.Tries)
}
