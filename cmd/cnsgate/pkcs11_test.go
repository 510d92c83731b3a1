package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The card as a real one behaves: its key in a SoftHSM2 token, unlocked by
// a PIN, used by curl through OpenSSL's pkcs11 engine. The PKCS#11 calls go
// through OpenSC's pkcs11-spy, whose log shows what the token was asked to
// do. The token is made by softhsm2-util and filled with pkcs11-tool.

const pkcs11Packages = "softhsm2 opensc libengine-pkcs11-openssl"

// pkcs11Card is a token holding one demo card, and the curl that uses it.
type pkcs11Card struct {
	t                      *testing.T
	dir, curl              string
	softhsm, spy, p11Conf  string
	softhsmConf, tokenName string
}

// requireFile finds the first existing path of globs; under CI its absence
// fails the test with the packages to install, elsewhere it skips.
func requireFile(t *testing.T, what string, globs ...string) string {
	t.Helper()
	for _, g := range globs {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return m[0]
		}
	}
	msg := fmt.Sprintf("%s not found (%s); apt-get install -y --no-install-recommends %s", what, strings.Join(globs, ", "), pkcs11Packages)
	if os.Getenv("CI") != "" {
		t.Fatalf("required under CI: %s", msg)
	}
	t.Skip(msg)
	return ""
}

func newPKCS11Card(t *testing.T, certFile, keyFile, pin string) *pkcs11Card {
	t.Helper()
	p := &pkcs11Card{t: t, dir: t.TempDir(), tokenName: "CNS"}
	requireTool(t, "softhsm2-util", pkcs11Packages)
	requireTool(t, "pkcs11-tool", pkcs11Packages)
	requireTool(t, "openssl", "openssl")
	p.curl = requireTool(t, "curl", "curl")
	p.softhsm = requireFile(t, "the SoftHSM2 PKCS#11 module", "/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/*/softhsm/libsofthsm2.so")
	p.spy = requireFile(t, "OpenSC's pkcs11-spy", "/usr/lib/*/pkcs11-spy.so", "/usr/lib/*/pkcs11/pkcs11-spy.so")
	engine := requireFile(t, "OpenSSL's pkcs11 engine", "/usr/lib/*/engines-3/pkcs11.so", "/usr/lib/engines-3/pkcs11.so")

	p.softhsmConf = filepath.Join(p.dir, "softhsm2.conf")
	tokens := filepath.Join(p.dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	p.write(p.softhsmConf, "directories.tokendir = "+tokens+"\n")
	// The card's middleware signs RSA PKCS#1 v1.5 only, as smart cards do:
	// that is all the client offers in TLS 1.2 (TLS 1.3 would need PSS).
	p.p11Conf = filepath.Join(p.dir, "p11.cnf")
	p.write(p.p11Conf, "openssl_conf = openssl_init\n[openssl_init]\nengines = engine_section\nssl_conf = ssl_section\n"+
		"[engine_section]\npkcs11 = pkcs11_section\n[pkcs11_section]\nengine_id = pkcs11\ndynamic_path = "+engine+
		"\nMODULE_PATH = "+p.spy+"\ninit = 0\n[ssl_section]\nsystem_default = ssl_default\n[ssl_default]\n"+
		"ClientSignatureAlgorithms = RSA+SHA256:RSA+SHA384:RSA+SHA512\n")

	pk8, der := filepath.Join(p.dir, "card.pk8"), filepath.Join(p.dir, "card.der")
	p.run("softhsm2-util", "--init-token", "--free", "--label", p.tokenName, "--pin", pin, "--so-pin", "87654321")
	p.run("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", keyFile, "-out", pk8)
	p.run("openssl", "x509", "-in", certFile, "-outform", "DER", "-out", der)
	for _, obj := range [][2]string{{pk8, "privkey"}, {der, "cert"}} {
		p.run("pkcs11-tool", "--module", p.softhsm, "--token-label", p.tokenName, "--login", "--pin", pin,
			"--write-object", obj[0], "--type", obj[1], "--id", "01", "--label", "card")
	}
	// The key is on the token only.
	if err := os.Remove(pk8); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pkcs11Card) write(name, content string) {
	p.t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pkcs11Card) run(name string, args ...string) {
	p.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+p.softhsmConf)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// curlResult is one curl run: its exit code, -v output, -w summary, and
// the PKCS#11 calls the token saw.
type curlResult struct {
	exit          int
	verbose, info string
	spy, body     string
}

var (
	spyLoginRE    = regexp.MustCompile(`(?m)^\d+: C_Login$`)
	spySignRE     = regexp.MustCompile(`(?m)^\d+: C_Sign$`)
	spyMechRE     = regexp.MustCompile(`pMechanism->type = (CKM_\w+)`)
	spyPINWrongRE = regexp.MustCompile(`Returned:\s+\d+ CKR_PIN_INCORRECT`)
)

// login runs curl against url presenting the token's card, the PIN given
// the way a browser's PIN dialog would (never in the key URI).
func (p *pkcs11Card) login(url, caFile, pin string) curlResult {
	p.t.Helper()
	run := time.Now().UnixNano()
	spyLog := filepath.Join(p.dir, fmt.Sprintf("spy-%d.log", run))
	body, jar := filepath.Join(p.dir, fmt.Sprintf("body-%d.html", run)), filepath.Join(p.dir, fmt.Sprintf("jar-%d", run))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.curl, "-v", "-sS", "--cacert", caFile, "--engine", "pkcs11",
		"--cert-type", "ENG", "--cert", "pkcs11:token="+p.tokenName+";object=card;type=cert",
		"--key-type", "ENG", "--key", "pkcs11:token="+p.tokenName+";object=card;type=private",
		"--pass", pin, "-L", "-c", jar, "-b", jar, "-o", body, "-w", "%{http_code} %{url_effective}", url)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+p.softhsmConf, "OPENSSL_CONF="+p.p11Conf,
		"PKCS11SPY="+p.softhsm, "PKCS11SPY_OUTPUT="+spyLog)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := curlResult{verbose: stderr.String(), info: stdout.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.exit = exitErr.ExitCode()
	case err != nil:
		p.t.Fatalf("curl: %v", err)
	}
	spy, _ := os.ReadFile(spyLog)
	page, _ := os.ReadFile(body)
	r.spy, r.body = string(spy), string(page)
	return r
}

// TestPKCS11CardSignsEveryLogin logs in twice with the card in a SoftHSM2
// token, followed through to the welcome page: the token is unlocked by the
// PIN and signs with RSA PKCS#1 v1.5 once per TLS 1.2 handshake with the
// card listener, every connection there a new one; a wrong PIN fails at the
// token, before any TLS message, and the server sees no login at all.
func TestPKCS11CardSignsEveryLogin(t *testing.T) {
	const pin = "12345678"
	s := startServer(t, nil)
	card := s.setup.Cards[0]
	tok := newPKCS11Card(t, card.CertFile, card.KeyFile, pin)
	loginURL := "https://" + s.b.CNS + "/cns/login"
	success := `cnsgate_login_attempts_total{outcome="success",reason="none"}`
	served := `cnsgate_http_request_duration_seconds_count{code="303",route="GET /cns/login"}`

	// Each connection to the card listener is a full handshake in which
	// the token signs (a login begun on the card listener may pass there
	// twice: once to be bound to the browser, once with the request).
	cnsConnRE := regexp.MustCompile(`(?m)^\* Connected to \S+ \(\S+\) port ` + s.b.CNS[strings.LastIndex(s.b.CNS, ":")+1:] + `\b`)
	for i := 1; i <= 2; i++ {
		r := tok.login(loginURL, s.setup.TLSCAFile, pin)
		code, final, _ := strings.Cut(r.info, " ")
		if r.exit != 0 || code != "200" || final != s.cfg.Issuer+"/" || !strings.Contains(r.body, card.FiscalCode) {
			t.Fatalf("login %d: curl exit %d, %q\n%s\n%s", i, r.exit, r.info, r.verbose, r.spy)
		}
		for _, want := range []string{"SSL connection using TLSv1.2", "TLSv1.2 (OUT), TLS handshake, CERT verify (15)"} {
			if !strings.Contains(r.verbose, want) {
				t.Fatalf("login %d: curl -v lacks %q:\n%s", i, want, r.verbose)
			}
		}
		conns := len(cnsConnRE.FindAllString(r.verbose, -1))
		logins, signs := len(spyLoginRE.FindAllString(r.spy, -1)), len(spySignRE.FindAllString(r.spy, -1))
		mechs := map[string]int{}
		for _, m := range spyMechRE.FindAllStringSubmatch(r.spy, -1) {
			mechs[m[1]]++
		}
		if conns == 0 || logins != 1 || signs != conns || mechs["CKM_RSA_PKCS"] != conns || len(mechs) != 1 {
			t.Fatalf("login %d: %d connections to the card listener; the token saw %d C_Login, %d C_Sign, mechanisms %v; want 1 PIN login, one CKM_RSA_PKCS signature per connection\n%s\n%s",
				i, conns, logins, signs, mechs, r.verbose, r.spy)
		}
		if got := s.metric(t, success); got != float64(i) {
			t.Fatalf("after login %d: %s = %v", i, success, got)
		}
	}
	ev := s.waitAudit(t, 2, "--kind", "login", "--outcome", "success")
	for _, e := range ev {
		if e["fiscal_code"] != card.FiscalCode {
			t.Fatalf("audited login: %+v", e)
		}
	}

	servedBefore := s.metric(t, served)
	r := tok.login(loginURL, s.setup.TLSCAFile, "00000000")
	if r.exit != 58 || !spyPINWrongRE.MatchString(r.spy) || spySignRE.MatchString(r.spy) || strings.Contains(r.verbose, "Client hello") {
		t.Fatalf("wrong PIN: curl exit %d (want 58, key refused by the token), PIN refused %v, signed %v, TLS started %v\n%s\n%s",
			r.exit, spyPINWrongRE.MatchString(r.spy), spySignRE.MatchString(r.spy), strings.Contains(r.verbose, "Client hello"), r.verbose, r.spy)
	}
	if got := s.metric(t, served); got != servedBefore {
		t.Fatalf("%s = %v after the wrong PIN, want %v: the server must see nothing", served, got, servedBefore)
	}
	if ev := s.auditEvents(t, "--kind", "login", "--outcome", "failure"); len(ev) != 0 {
		t.Fatalf("a wrong PIN reached the server: %+v", ev)
	}
}
