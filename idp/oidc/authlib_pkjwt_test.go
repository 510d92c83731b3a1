package oidc_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/cnsgate/cnsgate/internal/docsnippet"
)

// authlibFlow is the verdict of testdata/authlib/code_flow.py.
type authlibFlow struct {
	OK           bool           `json:"ok"`
	Error        string         `json:"error"`
	Nonce        string         `json:"nonce"`
	TokenType    string         `json:"token_type"`
	RefreshToken bool           `json:"refresh_token"`
	Claims       map[string]any `json:"claims"`
	Userinfo     map[string]any `json:"userinfo"`
}

// TestAuthlibPrivateKeyJWT: the Authlib block of docs/relying-parties.md,
// read from the guide and run by Debian's python3-authlib, does the whole
// code flow against the running provider as the client "jwt-inline": the
// authorization URL with PKCE S256 and nonce, the card login (this test is
// the browser), the code for tokens with private_key_jwt client
// authentication at /token, the ID token verified against /jwks, /userinfo
// with the access token. The same block with a key cnsgate does not know
// for the client is refused at /token.
func TestAuthlibPrivateKeyJWT(t *testing.T) {
	if err := exec.Command(debianPython, "-c", "import authlib, requests").Run(); err != nil {
		t.Fatalf("Authlib or requests is not installed for %s (%v): run scripts/test-setup.sh", debianPython, err)
	}
	h := newHarness(t, harnessOptions{})
	br := h.citizen()
	key, _ := json.Marshal(h.clientKey)
	v := runAuthlibFlow(t, h, br, string(key))
	if !v.OK {
		t.Fatalf("the Authlib code flow failed: %s", v.Error)
	}
	c, u := v.Claims, v.Userinfo
	if c["fiscal_number"] != "TINIT-"+citizenCF || u["fiscal_number"] != "TINIT-"+citizenCF {
		t.Fatalf("fiscal_number: ID token %v, userinfo %v", c["fiscal_number"], u["fiscal_number"])
	}
	if fmt.Sprint(c["aud"]) != "[jwt-inline]" || c["nonce"] != v.Nonce || c["given_name"] != "MARIO" || u["family_name"] != "ROSSI" || c["sid"] == nil {
		t.Fatalf("ID token claims %v, userinfo %v", c, u)
	}
	if !strings.EqualFold(v.TokenType, "bearer") || !v.RefreshToken {
		t.Fatalf("token response: type %q, refresh token %v", v.TokenType, v.RefreshToken)
	}
	t.Logf("Authlib private_key_jwt: ID token of %s verified, userinfo %d claims", c["fiscal_number"], len(u))

	// Another key for the same client: the assertion is refused.
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := jwk.FromRaw(raw)
	otherJSON, _ := json.Marshal(other)
	if v := runAuthlibFlow(t, h, br, string(otherJSON)); v.OK || !strings.Contains(v.Error, "invalid_client") {
		t.Fatalf("a client assertion signed with an unknown key: ok %v, %q", v.OK, v.Error)
	}
}

// runAuthlibFlow runs code_flow.py with the guide's block as
// cnsgate_authlib.py, logging in with br when it asks.
func runAuthlibFlow(t *testing.T, h *harness, br *browser, clientKey string) authlibFlow {
	t.Helper()
	dir := t.TempDir()
	block := docsnippet.Block(t, "relying-parties.md", "authlib private_key_jwt")
	if err := os.WriteFile(filepath.Join(dir, "cnsgate_authlib.py"), []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.public.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, "testdata/authlib/code_flow.py")
	// requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE override a
	// session's verify: the block's ca_bundle must be what it trusts.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REQUESTS_CA_BUNDLE=") && !strings.HasPrefix(kv, "CURL_CA_BUNDLE=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "SNIPPET_DIR="+dir, "ISSUER="+h.public.URL, "CA_FILE="+ca,
		"CLIENT_ID=jwt-inline", "REDIRECT_URI="+h.rp.srv.URL+"/cb/jwt-inline", "CLIENT_KEY="+clientKey)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	lines.Buffer(nil, 1<<20)
	read := func(v any) {
		if !lines.Scan() {
			t.Fatalf("code_flow.py said nothing (%v):\n%s", lines.Err(), stderr.String())
		}
		if err := json.Unmarshal(lines.Bytes(), v); err != nil {
			t.Fatalf("code_flow.py said %q: %v\n%s", lines.Text(), err, stderr.String())
		}
	}
	var start struct {
		URL   string `json:"url"`
		Error string `json:"error"`
	}
	read(&start)
	if start.URL == "" {
		t.Fatalf("code_flow.py gave no authorization URL: %s\n%s", start.Error, stderr.String())
	}
	loc := br.authorize(start.URL)
	cb, _ := json.Marshal(map[string]string{"callback": loc.String()})
	_, _ = io.WriteString(stdin, string(cb)+"\n")
	var v authlibFlow
	read(&v)
	_ = stdin.Close()
	_ = cmd.Wait()
	if !v.OK && v.Error == "" {
		t.Fatalf("code_flow.py failed without a reason:\n%s", stderr.String())
	}
	return v
}
