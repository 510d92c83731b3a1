package saml

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/internal/docsnippet"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// requireTools skips a test when a tool is missing, unless running in CI
// (env CI set), where it fails.
func requireTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required in CI: %v", tool, err)
			}
			t.Skipf("%s not installed", tool)
		}
	}
}

const nodeSAMLDir = "testdata/node-saml"

// npmCI installs the locked dependencies of dir once (CI may have done it).
func npmCI(t testing.TB, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@node-saml", "node-saml")); err == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
}

// nodeSP is testdata/node-saml/sp.js running as a child process.
type nodeSP struct {
	t      *testing.T
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *bytes.Buffer
}

func startNodeSP(t *testing.T, env map[string]string) *nodeSP {
	return startLineSP(t, nodeSAMLDir, env, "node", "sp.js")
}

// startLineSP runs an SP that takes one JSON command a line on stdin and
// answers one a line on stdout (node-saml's sp.js, pysaml2's sp.py).
func startLineSP(t *testing.T, dir string, env map[string]string, name string, args ...string) *nodeSP {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	n := &nodeSP{t: t, stderr: &bytes.Buffer{}}
	cmd.Stderr = n.stderr
	var err error
	if n.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n.out = bufio.NewScanner(stdout)
	n.out.Buffer(make([]byte, 1<<20), 4<<20)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cancel()
			<-done
		}
		cancel()
	})
	return n
}

// read returns the next answer of the SP.
func (n *nodeSP) read() map[string]any {
	n.t.Helper()
	if !n.out.Scan() {
		n.t.Fatalf("node-saml SP exited: %v\n%s", n.out.Err(), n.stderr)
	}
	var m map[string]any
	if err := json.Unmarshal(n.out.Bytes(), &m); err != nil {
		n.t.Fatalf("node-saml SP said %q: %v", n.out.Text(), err)
	}
	return m
}

// call sends a command and returns the answer; failed reports an error
// answer as the test failure unless the caller expects it.
func (n *nodeSP) call(msg map[string]any) map[string]any {
	n.t.Helper()
	b, _ := json.Marshal(msg)
	if _, err := n.in.Write(append(b, '\n')); err != nil {
		n.t.Fatalf("node-saml SP: %v\n%s", err, n.stderr)
	}
	return n.read()
}

func (n *nodeSP) must(msg map[string]any) map[string]any {
	n.t.Helper()
	m := n.call(msg)
	if e, ok := m["error"]; ok {
		n.t.Fatalf("node-saml SP refused %s: %v", msg["cmd"], e)
	}
	return m
}

// TestNodeSAMLServiceProvider is the interop test with an SP nobody here
// wrote: @node-saml/node-saml signs its AuthnRequest and its metadata,
// asks for SmartcardPKI, and validates our Response (signatures of
// Response and assertion, AES-GCM decryption, audience, InResponseTo,
// NotOnOrAfter, attributes) through the real card login over TLS; then it
// logs out with a signed LogoutRequest and validates the LogoutResponse.
// The SP's configuration is testdata/node-saml/cnsgate-sp.js, which the
// node-saml section of docs/relying-parties.md shows byte for byte.
func TestNodeSAMLServiceProvider(t *testing.T) {
	docsnippet.Equal(t, "relying-parties.md", "node-saml", filepath.Join(nodeSAMLDir, "cnsgate-sp.js"))
	requireTools(t, "node", "npm")
	npmCI(t, nodeSAMLDir)
	h := newHarness(t)
	key := cnstest.MustKey(2048)
	cert := selfSigned(t, key, "node-saml sp")
	const entity, acs, slo = "https://node-sp.example/sp", "https://node-sp.example/acs", "https://node-sp.example/slo"
	certPEM := string(pemBlock("CERTIFICATE", cert.Raw))
	sp := startNodeSP(t, map[string]string{
		"SP_ENTITY_ID": entity, "SP_ACS": acs, "SP_SLO": slo,
		"SP_KEY": string(pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))), "SP_CERT": certPEM,
		"IDP_ENTITY_ID": h.public.URL + PathMetadata, "IDP_SSO": h.public.URL + PathSSO, "IDP_SLO": h.public.URL + PathSLO,
		"IDP_CERT": string(pemBlock("CERTIFICATE", h.idpCert.Raw)),
	})
	md, _ := sp.read()["metadata"].(string)
	h.start([]ServiceProvider{{
		EntityID: entity, MetadataFile: h.writeFile("node-sp.xml", []byte(md)),
		MetadataSignerFile: h.writeFile("node-sp.crt", []byte(certPEM)), // node-saml signs its metadata
		AttributeProfile:   ProfileSPID, NameIDFormat: NameIDPersistent,
	}})
	// The test card is a citizen card: AnyCard lets its login carry the roles.
	if err := h.reg.PutOperator(context.Background(), registry.Operator{FiscalCode: citizenCF, Roles: []string{"asl-operator"}, AnyCard: true}); err != nil {
		t.Fatal(err)
	}
	br := h.browser(h.citizen(citizenCF))

	// Login through the card.
	u, _ := sp.must(map[string]any{"cmd": "login", "relayState": "rs-1"})["url"].(string)
	action, form := br.cardLogin(br.get(u)).must(t, 200).form(t)
	if action != acs || form.Get("RelayState") != "rs-1" {
		t.Fatalf("form to %s with RelayState %q", action, form.Get("RelayState"))
	}
	if r := (&testSP{h: h, key: key}).read(form); !r.encrypted || r.cipher != algAES256GCM {
		t.Fatalf("assertion encrypted %v with %s, want AES-256-GCM (node-saml lists it first)", r.encrypted, r.cipher)
	}
	prof, _ := sp.must(map[string]any{"cmd": "acs", "SAMLResponse": form.Get(paramResponse)})["profile"].(map[string]any)
	want := map[string]string{
		"issuer": h.public.URL + PathMetadata, "nameIDFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		"fiscalNumber": "TINIT-" + citizenCF, "name": "MARIO", "familyName": "ROSSI", "region": "Toscana", "role": "asl-operator",
	}
	for k, v := range want {
		if prof[k] != v {
			t.Fatalf("node-saml profile %s = %v, want %q (profile %v)", k, prof[k], v, prof)
		}
	}
	if id, _ := prof["nameID"].(string); id == "" || strings.Contains(id, citizenCF) {
		t.Fatalf("nameID %q", id)
	}
	// The same Response again: its InResponseTo was used.
	if e, _ := sp.call(map[string]any{"cmd": "acs", "SAMLResponse": form.Get(paramResponse)})["error"].(string); !strings.Contains(e, "InResponseTo") {
		t.Fatalf("replayed Response: %q", e)
	}
	// Fresh Responses read with the SP's clock ahead: valid 4 minutes
	// later, expired (bearer NotOnOrAfter) 6 minutes later.
	late := func(offset time.Duration) string {
		u, _ := sp.must(map[string]any{"cmd": "login"})["url"].(string)
		_, form := br.get(u).must(t, 200).form(t)
		e, _ := sp.call(map[string]any{"cmd": "acs", "SAMLResponse": form.Get(paramResponse), "clockOffsetMs": offset.Milliseconds()})["error"].(string)
		return e
	}
	if e := late(4 * time.Minute); e != "" {
		t.Fatalf("Response read 4 minutes later: %q", e)
	}
	if e := late(6 * time.Minute); !strings.Contains(e, "subject confirmation") && !strings.Contains(e, "expired") {
		t.Fatalf("Response read 6 minutes later: %q", e)
	}

	// Single logout started by the SP.
	sid := br.cookie().Value
	u, _ = sp.must(map[string]any{"cmd": "logout"})["url"].(string)
	lu, _ := url.Parse(u)
	m, err := decodeRedirect(lu.RawQuery, paramRequest)
	if err != nil || m.signature == nil {
		t.Fatalf("node-saml LogoutRequest: signed %v, %v", m != nil && m.signature != nil, err)
	}
	lr, err := parseLogoutRequestXML(m.xml)
	if err != nil {
		t.Fatal(err)
	}
	// Signed by a participant: the session ends at once, no "Vuoi uscire?".
	br.stopAtSPs()
	done := br.get(u)
	action, form = done.must(t, 200).form(t)
	if action != slo || form.Get("RelayState") != "slo-state" {
		t.Fatalf("LogoutResponse to %s with RelayState %q", action, form.Get("RelayState"))
	}
	if out := sp.must(map[string]any{"cmd": "slo", "SAMLResponse": form.Get(paramResponse)}); out["loggedOut"] != true {
		t.Fatalf("node-saml: %v", out)
	}
	if res := h.readLogoutResponse(t, done, ""); res.InResponseTo != lr.ID || res.Destination != slo || res.Status.StatusCode.Value != crewjam.StatusSuccess {
		t.Fatalf("LogoutResponse %+v", res)
	}
	if _, err := h.store.Get(context.Background(), sid); err == nil || br.cookie() != nil {
		t.Fatalf("session still live (%v) or cookie kept", err)
	}
}
