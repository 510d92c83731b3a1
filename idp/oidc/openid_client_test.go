package oidc_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/cnsgate/cnsgate/internal/docsnippet"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// openIDClientDir holds the npm openid-client relying party; `npm ci`
// there installs it (see its package-lock.json).
const openIDClientDir = "testdata/openid-client"

// TestOpenIDClient runs the flow of TestGoOIDCRelyingParty with the npm
// openid-client library as the relying party, through the real card
// login, and checks the back-channel logout that its end_session causes.
// Without node or `npm ci` it fails under CI and is skipped otherwise.
// Its configuration is testdata/openid-client/cnsgate-rp.mjs, which
// docs/relying-parties.md shows byte for byte.
func TestOpenIDClient(t *testing.T) {
	docsnippet.Equal(t, "relying-parties.md", "openid-client", "testdata/openid-client/cnsgate-rp.mjs")
	node, err := exec.LookPath("node")
	if err != nil {
		sessionstest.Unavailable(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join(openIDClientDir, "node_modules", "openid-client")); err != nil {
		sessionstest.Unavailable(t, "openid-client is not installed: run `npm ci --prefix idp/oidc/testdata/openid-client`")
	}
	h := newHarness(t, harnessOptions{})
	card := h.citizenCard()
	dir := t.TempDir()
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, blk := range blocks {
			b = append(b, pem.EncodeToMemory(blk)...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: h.public.Certificate().Raw},
		&pem.Block{Type: "CERTIFICATE", Bytes: h.cns.Certificate().Raw})
	cert := write("card.pem", &pem.Block{Type: "CERTIFICATE", Bytes: card.Cert.Raw})
	key := write("card.key", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(card.Key)})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "rp.mjs")
	cmd.Dir = openIDClientDir
	cmd.Env = append(os.Environ(),
		"NODE_EXTRA_CA_CERTS="+ca, "ISSUER="+h.public.URL, "CLIENT_ID=esenzioni", "CLIENT_SECRET="+secretBasic,
		"REDIRECT_URI="+h.rp.srv.URL+"/cb/esenzioni", "POST_LOGOUT_URI="+h.rp.srv.URL+"/bye/esenzioni",
		"CARD_CERT="+cert, "CARD_KEY="+key,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openid-client relying party failed: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var result struct {
		OK  bool   `json:"ok"`
		SID string `json:"sid"`
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &result); err != nil || !result.OK {
		t.Fatalf("openid-client relying party said:\n%s", out)
	}

	got := h.rp.logout(t)
	provider, err := gooidc.NewProvider(gooidc.ClientContext(ctx, h.httpClient()), h.public.URL)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := provider.Verifier(&gooidc.Config{ClientID: "esenzioni"}).Verify(ctx, got.token)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	_ = tok.Claims(&c)
	if got.client != "esenzioni" || c.SID != result.SID || tok.Subject != result.Sub {
		t.Fatalf("back-channel logout to %s for sid %s sub %s; the client saw sid %s sub %s", got.client, c.SID, tok.Subject, result.SID, result.Sub)
	}
}
