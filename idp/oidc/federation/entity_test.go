package federation_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/cnsgate/cnsgate/idp/oidc/federation"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// TestEntityConfiguration fetches the running server's
// /.well-known/openid-federation and checks it independently of the
// package's own parsing, with jwx: the media type, typ and kid, the
// signature by the first federation key of its inline jwks (both keys
// published, neither a token key of /jwks), and the claims of a leaf
// OpenID Provider.
func TestEntityConfiguration(t *testing.T) {
	f := newLocalFed(t, nil)
	s := newServer(t, f, nil)
	resp, body := get(t, s.env.Client(), s.env.Public.URL+federation.PathConfiguration)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/entity-statement+jwt" {
		t.Fatalf("answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	msg, err := jws.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	var claims struct {
		Iss, Sub       string
		Iat, Exp       int64
		JWKS           json.RawMessage
		AuthorityHints []string `json:"authority_hints"`
		Metadata       struct {
			FederationEntity map[string]any `json:"federation_entity"`
			OpenIDProvider   map[string]any `json:"openid_provider"`
		}
		TrustMarks []map[string]string `json:"trust_marks"`
	}
	if err := json.Unmarshal(msg.Payload(), &claims); err != nil {
		t.Fatal(err)
	}
	set, err := jwk.Parse(claims.JWKS)
	if err != nil || set.Len() != 2 {
		t.Fatalf("jwks: %d keys, %v", set.Len(), err)
	}
	if _, err := jws.Verify([]byte(body), jws.WithKeySet(set)); err != nil {
		t.Fatalf("not verified by its own inline keys: %v", err)
	}
	first, _ := set.Key(0)
	_, tokenKeys := get(t, s.env.Client(), s.env.Public.URL+"/jwks")
	iss := s.env.Public.URL
	op := claims.Metadata.OpenIDProvider
	for what, ok := range map[string]bool{
		"typ entity-statement+jwt":         h.Type() == federation.StatementType,
		"kid of the first federation key":  h.KeyID() == first.KeyID(),
		"federation keys not in /jwks":     !strings.Contains(tokenKeys, first.KeyID()),
		"iss = sub = the issuer":           claims.Iss == iss && claims.Sub == iss,
		"lifetime of 24h":                  claims.Exp-claims.Iat == int64(federation.DefaultLifetime/time.Second),
		"authority_hints":                  slices.Equal(claims.AuthorityHints, []string{f.ta.id}),
		"organization_name":                claims.Metadata.FederationEntity["organization_name"] == "cnsgate di prova",
		"openid_provider is the discovery": op["issuer"] == iss && op["token_endpoint"] == iss+"/token" && op["jwks_uri"] == iss+"/jwks",
		"automatic registration":           slices.Contains(anyStrings(op["client_registration_types_supported"]), "automatic"),
		"the token keys inline":            sameKeys(t, op["jwks"], tokenKeys),
		"trust mark as configured":         len(claims.TrustMarks) == 1 && claims.TrustMarks[0]["trust_mark_type"] == trustMarkType && strings.Count(claims.TrustMarks[0]["trust_mark"], ".") == 2,
	} {
		if !ok {
			t.Errorf("entity configuration: not %s:\n%s", what, msg.Payload())
		}
	}
	t.Logf("entity configuration: %s kid %s, %d keys, verified with its inline jwks", h.Algorithm(), h.KeyID(), set.Len())
}

func anyStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// oidfedCoreDir holds the npm @openid-federation/core check; `npm ci`
// there installs it (scripts/test-setup.sh does).
const oidfedCoreDir = "testdata/oidfed-core"

// TestEntityConfigurationCrossCheck has an independent implementation,
// @openid-federation/core, fetch and verify the running server's entity
// configuration over the network. Without node or `npm ci` it fails
// under CI and is skipped otherwise.
func TestEntityConfigurationCrossCheck(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		sessionstest.Unavailable(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join(oidfedCoreDir, "node_modules", "@openid-federation", "core")); err != nil {
		sessionstest.Unavailable(t, "@openid-federation/core is not installed: run `npm ci --prefix idp/oidc/federation/testdata/oidfed-core`")
	}
	f := newLocalFed(t, nil)
	s := newServer(t, f, nil)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.env.Public.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "check.mjs")
	cmd.Dir = oidfedCoreDir
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+ca, "ENTITY_ID="+s.env.Public.URL)
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var result struct {
		OK       bool
		Verified string
		Error    string
	}
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &result); err != nil || jerr != nil || !result.OK {
		t.Fatalf("@openid-federation/core: %v\n%s", err, out)
	}
	t.Logf("@openid-federation/core: %s", lines[len(lines)-1])
}

// sameKeys reports whether the inline jwks v holds the keys of the JWK Set
// document doc.
func sameKeys(t *testing.T, v any, doc string) bool {
	t.Helper()
	inline, _ := json.Marshal(v)
	a, err := jwk.Parse(inline)
	if err != nil {
		return false
	}
	b, err := jwk.Parse([]byte(doc))
	if err != nil || a.Len() != b.Len() || a.Len() == 0 {
		return false
	}
	for i := range a.Len() {
		k, _ := a.Key(i)
		if _, ok := b.LookupKeyID(k.KeyID()); !ok {
			return false
		}
	}
	return true
}
