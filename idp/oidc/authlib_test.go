package oidc_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// debianPython is the interpreter of Debian's python3-authlib, which
// scripts/test-setup.sh installs.
const debianPython = "/usr/bin/python3"

// TestAuthlib: Authlib 1.2 (Debian's python3-authlib), a relying-party
// library nobody here wrote, accepts the running provider's metadata
// (OpenIDProviderMetadata.validate(), which requires RS256 among the ID
// token algorithms) and verifies with authlib.jose, against the published
// JWKS, the ID tokens of real card logins: RS256 for a default client,
// ES256 for one that registered it.
func TestAuthlib(t *testing.T) {
	if err := exec.Command(debianPython, "-c", "import authlib").Run(); err != nil {
		t.Fatalf("Authlib is not installed for %s (%v): run scripts/test-setup.sh, or as root `apt-get install -y --no-install-recommends python3-authlib`", debianPython, err)
	}
	h := newHarness(t, harnessOptions{})
	br := h.citizen()
	type token struct {
		ClientID    string `json:"client_id"`
		Nonce       string `json:"nonce"`
		IDToken     string `json:"id_token"`
		AccessToken string `json:"access_token"`
		Alg         string `json:"alg"`
	}
	var tokens []token
	for client, alg := range map[string]string{"esenzioni": "RS256", "es256": "ES256"} {
		code, verifier := h.code(br, client)
		access, _, id := h.tokens(h.exchange(client, code, verifier))
		tokens = append(tokens, token{ClientID: client, Nonce: "n-" + client, IDToken: id, AccessToken: access, Alg: alg})
	}
	verdict, out := runAuthlib(t, h, tokens)
	if !verdict.OK {
		t.Fatalf("Authlib refused cnsgate:\n%s", out)
	}
	if len(verdict.Verified) != len(tokens) {
		t.Fatalf("Authlib verified %d ID tokens of %d:\n%s", len(verdict.Verified), len(tokens), out)
	}
	for _, v := range verdict.Verified {
		if v.FiscalNumber != "TINIT-"+citizenCF {
			t.Fatalf("Authlib read another fiscal_number in the ID token of %s", v.ClientID)
		}
		t.Logf("Authlib verified the %s ID token of %s", v.Alg, v.ClientID)
	}

	// The check has teeth: a provider with only an EC key (as the demo
	// had) is refused for the RS256 that Discovery requires.
	ecOnly := newHarness(t, harnessOptions{keys: []string{"es256.pem"}, noAlgClients: true})
	if v, out := runAuthlib(t, ecOnly, nil); v.OK || !strings.Contains(v.Error, "RS256") {
		t.Fatalf("Authlib accepted metadata without RS256:\n%s", out)
	}
}

// authlibVerdict is the last line check.py prints.
type authlibVerdict struct {
	OK       bool     `json:"ok"`
	Error    string   `json:"error"`
	Algs     []string `json:"algs"`
	Verified []struct {
		ClientID     string `json:"client_id"`
		Alg          string `json:"alg"`
		FiscalNumber string `json:"fiscal_number"`
	} `json:"verified"`
}

// runAuthlib runs check.py against h's provider with the ID tokens to
// verify.
func runAuthlib(t *testing.T, h *harness, tokens any) (authlibVerdict, string) {
	t.Helper()
	raw, _ := json.Marshal(tokens)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.public.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, "testdata/authlib/check.py")
	cmd.Env = append(os.Environ(), "ISSUER="+h.public.URL, "CA_FILE="+ca, "TOKENS="+string(raw))
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var v authlibVerdict
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &v); jerr != nil || (err != nil && v.OK) {
		t.Fatalf("check.py gave no verdict (%v, %v):\n%s", err, jerr, out)
	}
	return v, string(out)
}
