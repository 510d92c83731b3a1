package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/x509cns"
)

// syncBuffer is a bytes.Buffer safe for the demo's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runningDemo is `cnsgate demo` run in-process on spare loopback ports.
type runningDemo struct {
	dir            string
	setup          *demo.Setup
	cfg            *config.Config
	rpURL          string
	stdout, stderr *syncBuffer
	stop           func() int // Ctrl-C; returns the exit code
}

// startDemo runs the demo with flags, and --confirm-release=false unless
// flags name --confirm-release: the data-release page, on by default, is
// TestDemoReleasePage*'s.
func startDemo(t *testing.T, flags ...string) *runningDemo {
	t.Helper()
	if !slices.ContainsFunc(flags, func(f string) bool { return strings.HasPrefix(f, "--confirm-release") }) {
		flags = append([]string{"--confirm-release=false"}, flags...)
	}
	return runDemo(t, flags...)
}

// runDemo runs `cnsgate demo` with flags as they are.
func runDemo(t *testing.T, flags ...string) *runningDemo {
	t.Helper()
	d := &runningDemo{dir: t.TempDir(), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	ports := demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t), Esenzioni: freeAddr(t), CMS: freeAddr(t)}
	var err error
	// Prepared first, so that the test knows the files; the demo reuses them.
	if d.setup, err = demo.Prepare(d.dir, ports, time.Now()); err != nil {
		t.Fatal(err)
	}
	if d.cfg, err = config.Load(d.setup.ConfigFile); err != nil {
		t.Fatal(err)
	}
	d.rpURL = d.setup.Esenzioni.BaseURL
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	args := append([]string{"--dir", d.dir, "--public", ports.Public, "--cns", ports.CNS, "--admin", ports.Admin, "--esenzioni", ports.Esenzioni, "--cms", ports.CMS, "--console", "off"}, flags...)
	go func() { code <- cmdDemo(ctx, args, d.stdout, d.stderr) }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(d.stdout.String(), "Press Ctrl-C to stop.") {
		select {
		case c := <-code:
			cancel()
			t.Fatalf("cnsgate demo exited with %d:\n%s", c, d.stderr.String())
		case <-deadline:
			cancel()
			t.Fatalf("no banner:\n%s\n%s", d.stdout.String(), d.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	var once sync.Once
	exit := -1
	d.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case exit = <-code:
			case <-time.After(30 * time.Second):
				t.Error("cnsgate demo did not stop")
			}
		})
		return exit
	}
	t.Cleanup(func() {
		d.stop()
		// The demo's log (through serve's masking net) names no citizen.
		for _, l := range strings.Split(d.stderr.String(), "\n") {
			if x509cns.MaskFiscalCodes(l) != l {
				t.Errorf("a log line holds a fiscal code in full: %s", l)
			}
		}
	})
	for _, u := range []string{d.rpURL, d.setup.CMS.BaseURL} {
		if !strings.Contains(d.stdout.String(), u+"/ ") {
			t.Fatalf("the banner does not show %s:\n%s", u, d.stdout.String())
		}
	}
	return d
}

// citizenBrowser is a cookie-keeping client trusting the demo TLS CA that
// presents the named demo card when a server asks for one.
func (d *runningDemo) browser(t *testing.T, card string) *http.Client {
	t.Helper()
	c, ok := d.setup.Card(card)
	if !ok {
		t.Fatalf("no demo card %q", card)
	}
	pair := loadCard(t, c)
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(d.setup.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{*pair}}}}
}

type page struct {
	url  *url.URL
	code int
	body string
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values, origin string) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{url: resp.Request.URL, code: resp.StatusCode, body: string(b)}
}

var (
	hrefLoginRE = regexp.MustCompile(`href="([^"]*/cns/login\?req=[^"]+)"`)
	csrfFieldRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

func field(t *testing.T, re *regexp.Regexp, p page) string {
	t.Helper()
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s (%d): no %s in\n%s", p.url, p.code, re, p.body)
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

func mustContain(t *testing.T, p page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.body, w) {
			t.Fatalf("%s (%d): no %q in\n%s", p.url, p.code, w, p.body)
		}
	}
}

// loginAtRP goes from the relying party's button to its page with the
// citizen's exemptions, through cnsgate's "Accedi con TS/CNS".
func (d *runningDemo) loginAtRP(t *testing.T, b *http.Client) page {
	t.Helper()
	home := fetch(t, b, "GET", d.rpURL+"/", nil, "")
	mustContain(t, home, "Accedi con TS/CNS", `href="/login"`)
	gate := fetch(t, b, "GET", d.rpURL+"/login", nil, "")
	// cnsgate's page names the service asking and leads back to it with
	// a refusal of its request (cancel.go).
	mustContain(t, gate, "Accedi con TS/CNS", "Stai accedendo a <strong>Esenzioni da reddito</strong>",
		`href="`+d.cfg.Issuer+`/cns/cancel?req=`, `">Annulla e torna al servizio</a>`)
	return fetch(t, b, "GET", field(t, hrefLoginRE, gate), nil, "")
}

// TestDemoEsenzioniRelyingParty runs `cnsgate demo` with its example
// relying party and goes through it as a citizen with a card: login
// (discovery, PKCE, ID token), the page with the fiscal code, "Esci"
// (RP-initiated logout), then a logout at cnsgate reaching the relying
// party over the back channel, then Ctrl-C.
func TestDemoEsenzioniRelyingParty(t *testing.T) {
	d := startDemo(t)
	if !strings.Contains(d.stdout.String(), "Esenzioni da reddito") {
		t.Fatalf("banner does not name the relying party:\n%s", d.stdout.String())
	}
	b := d.browser(t, "citizen")
	pub := d.cfg.Issuer

	// The demo signs with an RSA and an EC key: discovery offers RS256
	// (which OpenID Connect Discovery requires) and ES256, /jwks
	// publishes both keys with kid and alg.
	var meta struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	var jwks struct {
		Keys []struct{ Kty, Alg, Kid string } `json:"keys"`
	}
	if err := json.Unmarshal([]byte(fetch(t, b, "GET", pub+"/.well-known/openid-configuration", nil, "").body), &meta); err != nil ||
		!slices.Contains(meta.Algs, "RS256") || !slices.Contains(meta.Algs, "ES256") {
		t.Fatalf("demo discovery algs %v (%v)", meta.Algs, err)
	}
	if err := json.Unmarshal([]byte(fetch(t, b, "GET", pub+"/jwks", nil, "").body), &jwks); err != nil {
		t.Fatal(err)
	}
	published := map[string]bool{}
	for _, k := range jwks.Keys {
		published[k.Kty+"/"+k.Alg] = k.Kid != ""
	}
	if !published["RSA/RS256"] || !published["EC/ES256"] {
		t.Fatalf("demo jwks: %+v", jwks.Keys)
	}

	// The welcome page lists the relying party under "Servizi attivi".
	account := d.loginAtRP(t, b)
	if account.url.String() != d.rpURL+"/" {
		t.Fatalf("login ended at %s (%d):\n%s", account.url, account.code, account.body)
	}
	citizen, _ := d.setup.Card("citizen")
	mustContain(t, account, citizen.FiscalCode, "Mario Rossi", "E01", "Dati dimostrativi", "Esci")
	welcome := fetch(t, b, "GET", pub+"/", nil, "")
	mustContain(t, welcome, "Servizi attivi", `href="`+d.rpURL+`/"`, "Esenzioni da reddito")

	// "Esci" at the relying party: its end_session request carries an
	// id_token_hint of this very session, so cnsgate ends it without asking
	// and sends the browser back to the relying party's logged-out page,
	// with the state the relying party sent (which that page checks).
	out := fetch(t, b, "POST", d.rpURL+"/logout", url.Values{"csrf": {field(t, csrfFieldRE, account)}}, d.rpURL)
	if out.url.Path != demo.EsenzioniLoggedOutPath || !strings.HasPrefix(out.url.String(), d.rpURL+"/") || len(out.url.Query().Get("state")) < 43 {
		t.Fatalf("logout ended at %s (%d):\n%s", out.url, out.code, out.body)
	}
	mustContain(t, out, "rimuovi la tessera")
	mustContain(t, fetch(t, b, "GET", d.rpURL+"/", nil, ""), "Accedi con TS/CNS")
	mustContain(t, fetch(t, b, "GET", pub+"/", nil, ""), "Accedi con TS/CNS")

	// Logging out at cnsgate ends the relying party's session over the
	// back channel (the demo's outgoing client trusts the demo TLS CA).
	account = d.loginAtRP(t, b)
	mustContain(t, account, citizen.FiscalCode)
	welcome = fetch(t, b, "GET", pub+"/", nil, "")
	mustContain(t, fetch(t, b, "POST", pub+"/logout", url.Values{"csrf": {field(t, csrfFieldRE, welcome)}}, pub), "rimuovi la tessera")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(fetch(t, b, "GET", d.rpURL+"/", nil, "").body, "Accedi con TS/CNS") {
		if time.Now().After(deadline) {
			t.Fatalf("the relying party's session outlived the logout at cnsgate:\n%s", d.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(d.stderr.String(), `msg="esenzioni: back-channel logout" app=esenzioni`) {
		t.Fatalf("no back-channel logout in the log:\n%s", d.stderr.String())
	}

	if code := d.stop(); code != 0 {
		t.Fatalf("Ctrl-C: exit %d\n%s", code, d.stderr.String())
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(d.rpURL, "https://")); err == nil {
		t.Fatal("the relying party still listens after Ctrl-C")
	}
}

func TestDemoFlags(t *testing.T) {
	dir := t.TempDir()
	var out, errb strings.Builder
	// --esenzioni off: no client registered.
	if code := run(context.Background(), []string{"demo", "--prepare", "--dir", dir, "--esenzioni", "off"}, &out, &errb); code != 0 {
		t.Fatalf("prepare: %d %s", code, errb.String())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "oidc:") {
		t.Fatalf("--esenzioni off still registers a client:\n%s", raw)
	}
	// A busy port is reported at start, naming the flag.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errb.Reset()
	code := run(context.Background(), []string{"demo", "--dir", dir, "--public", freeAddr(t), "--cns", freeAddr(t), "--admin", freeAddr(t),
		"--esenzioni", ln.Addr().String(), "--console", "off"}, io.Discard, &errb)
	if code != 2 || !strings.Contains(errb.String(), "--esenzioni") || !strings.Contains(errb.String(), "address already in use") {
		t.Fatalf("busy --esenzioni port: exit %d, %q", code, errb.String())
	}
}
