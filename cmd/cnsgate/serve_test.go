package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/idptest"
	"github.com/cnsgate/cnsgate/internal/freeport"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// testServer runs serve on loopback ports chosen by the kernel.
type testServer struct {
	b      bound
	cfg    *config.Config
	setup  *demo.Setup
	cancel context.CancelFunc
	done   chan error
	logs   *idptest.LogCapture
}

func startServer(t *testing.T, edit func(cfgYAML string) string) *testServer {
	t.Helper()
	if edit == nil {
		return startServerSetup(t, nil)
	}
	return startServerSetup(t, func(_ *demo.Setup, y string) string { return edit(y) })
}

// startServerSetup is startServer for an edit that needs the demo
// directory (its PKI) before the server starts.
func startServerSetup(t *testing.T, edit func(setup *demo.Setup, cfgYAML string) string) *testServer {
	t.Helper()
	dir := t.TempDir()
	setup, err := demo.Prepare(dir, demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		raw, err := os.ReadFile(setup.ConfigFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(setup.ConfigFile, []byte(edit(setup, string(raw))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return runServer(t, setup)
}

// runServer starts serve on the configuration of setup as it is now.
func runServer(t *testing.T, setup *demo.Setup) *testServer {
	t.Helper()
	return serveConfig(t, setup, setup.ConfigFile)
}

// runServerExtras is runServer with extras (more roots for cnsgate's
// outgoing calls); the demo CA's CRL and OCSP handlers are always added.
func runServerExtras(t *testing.T, setup *demo.Setup, extras serveExtras) *testServer {
	t.Helper()
	return serveConfigExtras(t, setup, setup.ConfigFile, extras)
}

// serveConfig runs serve with the configuration file cfgFile, which may be
// another than setup's (a second replica of the same demo directory).
func serveConfig(t *testing.T, setup *demo.Setup, cfgFile string) *testServer {
	t.Helper()
	return serveConfigExtras(t, setup, cfgFile, serveExtras{})
}

// serveConfigExtras is serveConfig with extras.
func serveConfigExtras(t *testing.T, setup *demo.Setup, cfgFile string, extras serveExtras) *testServer {
	t.Helper()
	withoutReleasePage(t, cfgFile)
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{cfg: cfg, setup: setup, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan bound, 1)
	// Every line, without serve's masking net (idp.LogHandler), so that what
	// the code logs is judged as written: no line may name a citizen.
	s.logs = &idptest.LogCapture{}
	logger := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if extras.admin, err = setup.CAHandlers(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.done <- serve(ctx, cfg, cfgFile, logger, func(b bound) { ready <- b }, extras)
	}()
	select {
	case s.b = <-ready:
	case err := <-s.done:
		t.Fatalf("serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
		idptest.CheckNoFiscalCodes(t, s.logs)
	})
	return s
}

// withoutReleasePage writes login.confirm_release: false into cfgFile unless
// it names login.confirm_release already: the serve tests drive logins to
// be about something else than the data-release page, which
// TestDemoReleasePage* and TestServeReleasePageByDefault cover.
func withoutReleasePage(t *testing.T, cfgFile string) {
	t.Helper()
	raw, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	y := string(raw)
	if strings.Contains(y, "confirm_release:") {
		return
	}
	if i := strings.Index(y, "\nlogin:\n"); i >= 0 {
		i += len("\nlogin:\n")
		y = y[:i] + "  confirm_release: false\n" + y[i:]
	} else if strings.HasPrefix(y, "login:\n") {
		y = "login:\n  confirm_release: false\n" + y[len("login:\n"):]
	} else {
		y += "\nlogin:\n  confirm_release: false\n"
	}
	if err := os.WriteFile(cfgFile, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	a, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// client returns an HTTPS client trusting the demo TLS CA and presenting
// cert (none when nil), recording the CertificateRequest it saw.
func (s *testServer) client(t *testing.T, cert *tls.Certificate, seen *tls.CertificateRequestInfo) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(s.setup.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	tc := &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: tls.VersionTLS13}
	tc.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if seen != nil {
			*seen = *cri
		}
		if cert == nil {
			return &tls.Certificate{}, nil
		}
		return cert, nil
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
}

type verdict struct {
	Verdict  string `json:"verdict"`
	Reason   string `json:"reason"`
	Identity struct {
		FiscalCode string `json:"fiscal_code"`
	} `json:"identity"`
}

func cnsLogin(t *testing.T, c *http.Client, addr string) (verdict, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", "https://"+addr+"/cns/check", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v verdict
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v, resp
}

func loadCard(t *testing.T, c demo.Card) *tls.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(c.ChainFile, c.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &pair
}

func TestServeCardListener(t *testing.T) {
	s := startServer(t, nil)
	citizen := loadCard(t, s.setup.Cards[0])

	var cri tls.CertificateRequestInfo
	v, resp := cnsLogin(t, s.client(t, citizen, &cri), s.b.CNS)
	if resp.StatusCode != 200 || v.Verdict != "accepted" || v.Identity.FiscalCode != s.setup.Cards[0].FiscalCode {
		t.Fatalf("citizen: %d %+v", resp.StatusCode, v)
	}
	if resp.TLS.Version != tls.VersionTLS12 {
		t.Fatalf("cns listener negotiated %x, want TLS 1.2 (cns_max_version default)", resp.TLS.Version)
	}
	if len(cri.AcceptableCAs) != 0 {
		t.Fatalf("cns listener advertised %d CA names, want none", len(cri.AcceptableCAs))
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}

	// The CIE-profile card chains through its SUBCA1 (presented by the
	// client) to the CIE root, and its sub-CA's CRL is served too.
	for _, c := range s.setup.Cards {
		if c.Name != "cie" {
			continue
		}
		v, resp := cnsLogin(t, s.client(t, loadCard(t, c), nil), s.b.CNS)
		if resp.StatusCode != 200 || v.Verdict != "accepted" || v.Identity.FiscalCode != c.FiscalCode {
			t.Fatalf("CIE card: %d %+v", resp.StatusCode, v)
		}
	}
	// The demo CA's CRL, served by the same process, revokes one card.
	for _, c := range s.setup.Cards {
		want := map[string]string{"expired": "expired", "revoked": "revoked"}[c.Name]
		if want == "" {
			continue
		}
		v, resp := cnsLogin(t, s.client(t, loadCard(t, c), nil), s.b.CNS)
		if resp.StatusCode != 403 || v.Reason != want {
			t.Fatalf("%s card: %d %+v", c.Name, resp.StatusCode, v)
		}
	}
	v, resp = cnsLogin(t, s.client(t, nil, nil), s.b.CNS)
	if resp.StatusCode != 403 || v.Reason != "no_certificate" {
		t.Fatalf("no card: %d %+v", resp.StatusCode, v)
	}

	// The citizen's page: Italian by default, English on request.
	for lang, want := range map[string]string{"": "Accedi con TS/CNS", "en-GB,en;q=0.8": "Log in with TS/CNS"} {
		req, _ := http.NewRequest("GET", "https://"+s.b.Public+"/", nil)
		req.Header.Set("Accept-Language", lang)
		resp, err := s.client(t, nil, nil).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) || !strings.Contains(string(body), s.cfg.Issuer+"/cns/start") {
			t.Fatalf("home (%q): %d, missing %q", lang, resp.StatusCode, want)
		}
	}

	resp, err := http.Get("http://" + s.b.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`cnsgate_login_attempts_total{outcome="failure",reason="expired"} 0`,
		`cnsgate_revocation_checks_total{method="crl",result="revoked"} 1`, `cnsgate_build_info`,
		`cnsgate_http_request_duration_seconds_count{code="403",route="GET /cns/check"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
			for _, l := range strings.Split(string(body), "\n") {
				if strings.Contains(l, "revocation_checks") {
					t.Log(l)
				}
			}
		}
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
		resp, err := http.Get("http://" + s.b.Admin + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
}

func TestServeTLS13AndCANamesWhenConfigured(t *testing.T) {
	s := startServer(t, func(y string) string {
		return strings.Replace(y, "tls:\n", "tls:\n  cns_max_version: \"1.3\"\n  cns_client_ca_names: true\n", 1)
	})
	var cri tls.CertificateRequestInfo
	v, resp := cnsLogin(t, s.client(t, loadCard(t, s.setup.Cards[0]), &cri), s.b.CNS)
	if v.Verdict != "accepted" || resp.TLS.Version != tls.VersionTLS13 {
		t.Fatalf("%+v over %x", v, resp.TLS.Version)
	}
	if len(cri.AcceptableCAs) != 2 {
		t.Fatalf("advertised %d CA names, want the two anchors (regional root, CIE root)", len(cri.AcceptableCAs))
	}
}

// TestServeSIGHUPReloadsTrust adds a CA to the trust directory and checks
// that its cards are accepted after SIGHUP, without a restart.
func TestServeSIGHUPReloadsTrust(t *testing.T) {
	// The new CA publishes no CRL or OCSP, which fail-closed revocation
	// would refuse; this test is about the trust store only.
	s := startServer(t, func(y string) string { return strings.Replace(y, "mode: crl_then_ocsp", "mode: none", 1) })
	other, err := cnstest.NewRegionalCA("Umbria")
	if err != nil {
		t.Fatal(err)
	}
	card := other.MustIssueCard(cnstest.CardOptions{})
	pair := card.TLSCertificate()
	c := s.client(t, &pair, nil)
	if v, _ := cnsLogin(t, c, s.b.CNS); v.Reason != "unknown_issuer" {
		t.Fatalf("before reload: %+v", v)
	}
	if _, err := cnstest.WriteCAFiles(s.setup.TrustDir, other); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		// A new connection each time: the verdict must not depend on it, but
		// this also proves resumption is not needed for the new store.
		c.CloseIdleConnections()
		v, _ := cnsLogin(t, c, s.b.CNS)
		if v.Verdict == "accepted" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP: %+v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A broken trust directory on reload keeps the running store.
	if err := os.RemoveAll(s.setup.TrustDir); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// Both reloads are in the audit trail, with their outcome; once the
	// failure is there, the second reload has been tried and refused.
	deadline = time.Now().Add(5 * time.Second)
	for {
		var out strings.Builder
		run(context.Background(), []string{"audit", "query", "--config", s.setup.ConfigFile, "--kind", "config_reload"}, &out, io.Discard)
		if strings.Count(out.String(), `"outcome":"success"`) == 1 && strings.Count(out.String(), `"outcome":"failure"`) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("config_reload audit events:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.CloseIdleConnections()
	if v, _ := cnsLogin(t, c, s.b.CNS); v.Verdict != "accepted" {
		t.Fatalf("after a failed reload: %+v", v)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"serve"}, {"inspect"}, {"check-config"}} {
		var out, errb strings.Builder
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	var out strings.Builder
	if code := run(context.Background(), []string{"version"}, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "cnsgate") {
		t.Fatalf("version: %d %q", code, out.String())
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	setup, err := demo.Prepare(dir, demo.DefaultPorts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"check-config", "--config", setup.ConfigFile}, &out, &errb); code != 0 {
		t.Fatalf("valid config: exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "2 usable anchors now") {
		t.Fatalf("no trust summary in %q", out.String())
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("issuer: ftp://x\nsessions:\n  store: redis\nbogus_key: 1\n"), 0o644)
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"check-config", "--config", bad}, &out, &errb); code != 1 {
		t.Fatalf("invalid config: exit %d", code)
	}
	for _, want := range []string{"bogus_key", "sessions: redis: option 'addrs' is required when store is 'redis'", "issuer"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("check-config output lacks %q:\n%s", want, errb.String())
		}
	}
	fmt.Fprint(io.Discard, out.String())
}

// TestServeMountsOpenIDProvider configures a client and checks that the
// provider answers on the public origin.
func TestServeMountsOpenIDProvider(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "signing.pem")
	if code := run(context.Background(), []string{"keys", "generate", "--out", keyFile}, io.Discard, io.Discard); code != 0 {
		t.Fatal("keys generate failed")
	}
	s := startServer(t, func(y string) string {
		return y + "oidc:\n  subject_salt: " + strings.Repeat("s", 40) + "\n  signing_keys: [" + keyFile + "]\n" +
			"  clients:\n    - id: esenzioni\n      secret: a-long-enough-client-secret\n      redirect_uris: [https://esenzioni.example/cb]\n"
	})
	resp, err := s.client(t, nil, nil).Get(s.cfg.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var disc struct {
		Issuer     string `json:"issuer"`
		EndSession string `json:"end_session_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&disc); err != nil || resp.StatusCode != 200 || disc.Issuer != s.cfg.Issuer || disc.EndSession != s.cfg.Issuer+"/logout" {
		t.Fatalf("discovery: %d %+v %v", resp.StatusCode, disc, err)
	}
}

// writeSAMLKeyPair writes a SAML IdP signing key and its self-signed
// certificate into dir and returns their files.
func writeSAMLKeyPair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key := cnstest.MustKey(2048)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cnsgate SAML test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "saml.crt"), filepath.Join(dir, "saml.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestServeMountsSAMLIdP configures the SAML IdP's signing key and checks
// that its metadata is served on the public origin.
func TestServeMountsSAMLIdP(t *testing.T) {
	certFile, keyFile := writeSAMLKeyPair(t, t.TempDir())
	s := startServer(t, func(y string) string {
		return y + "saml:\n  cert_file: " + certFile + "\n  key_file: " + keyFile + "\n"
	})
	resp, err := s.client(t, nil, nil).Get(s.cfg.Issuer + "/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "IDPSSODescriptor") || !strings.Contains(string(body), s.cfg.Issuer+"/saml/sso") {
		t.Fatalf("metadata: %d\n%s", resp.StatusCode, body)
	}
}
