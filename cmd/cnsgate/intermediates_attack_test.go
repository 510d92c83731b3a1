package main

import (
	"encoding/pem"
	"fmt"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/web"
)

// caDirsLine is the demo configuration's trust.ca_dirs line.
var caDirsLine = regexp.MustCompile(`(?m)^  ca_dirs: .*$`)

// withIntermediateDir writes sub to a new directory next to the demo
// configuration and returns the configuration with that directory as
// trust.intermediate_dirs.
func withIntermediateDir(t *testing.T, setup *demo.Setup, cfgYAML string, sub []byte) (string, string) {
	t.Helper()
	dir := filepath.Join(filepath.Dir(setup.ConfigFile), "intermediates")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cie-subca1.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sub}), 0o644); err != nil {
		t.Fatal(err)
	}
	if !caDirsLine.MatchString(cfgYAML) {
		t.Fatalf("the demo config has no trust.ca_dirs line:\n%s", cfgYAML)
	}
	return dir, caDirsLine.ReplaceAllStringFunc(cfgYAML, func(l string) string { return l + fmt.Sprintf("\n  intermediate_dirs: [%q]", dir) })
}

// leafOnly is card presenting its certificate alone, as browsers and
// middleware often send a CIE card: without its SUBCA1.
func leafOnly(card demo.Card) demo.Card {
	card.ChainFile = card.CertFile
	return card
}

// TestCIELeafAloneWithIntermediateDirs: with the CIE SUBCA1 in
// trust.intermediate_dirs at start, the CIE card presented over mTLS
// without it logs in through OIDC, and the load is in the log.
func TestCIELeafAloneWithIntermediateDirs(t *testing.T) {
	var dir string
	s := startServerSetup(t, func(setup *demo.Setup, y string) string {
		_, sub := cieChain(t, setup)
		var edited string
		dir, edited = withIntermediateDir(t, setup, y, sub.Raw)
		return edited + oidcConfig(t, "")
	})
	card, _ := cieChain(t, s.setup)
	if v, _ := cnsLogin(t, s.client(t, loadCard(t, leafOnly(card)), nil), s.b.CNS); v.Verdict != "accepted" || v.Identity.FiscalCode != card.FiscalCode {
		t.Fatalf("/cns/check, leaf alone: %+v", v)
	}
	claims := s.oidcLogin(t, s.rpBrowser(t, leafOnly(card)), "openid")
	if claims["sub"] == nil {
		t.Fatalf("id_token claims %v", claims)
	}
	if n := s.metric(t, `cnsgate_login_attempts_total{outcome="success",reason="none"}`); n != 1 {
		t.Fatalf("successful logins %v, want 1", n)
	}
	ev := s.waitAudit(t, 1, "--kind", "login", "--outcome", "success")
	if ev[0]["fiscal_code"] != card.FiscalCode {
		t.Fatalf("audited login %+v", ev[0])
	}
	requireLogLine(t, s, "trust store loaded", dir, "1 usable intermediates (not anchors) now")
}

// TestAttackCIELeafAloneRefusedUntilIntermediateDirs presents, over mTLS
// to a running server without trust.intermediate_dirs, the CIE card
// without its SUBCA1: refused unknown_issuer (page, audit, metric), and
// the issuer is not fetched from anywhere. Once SUBCA1 is put in
// intermediate_dirs and the server gets SIGHUP, the same card logs in.
func TestAttackCIELeafAloneRefusedUntilIntermediateDirs(t *testing.T) {
	s := startServer(t, func(y string) string { return y + oidcConfig(t, "") })
	card, sub := cieChain(t, s.setup)
	alone := leafOnly(card)

	code, body := cardLoginPage(t, s, alone)
	if code != http.StatusForbidden || !strings.Contains(body, html.EscapeString(web.ReasonMessage(web.Italian, "unknown_issuer"))) {
		t.Fatalf("leaf alone without intermediate_dirs: %d\n%s", code, body)
	}
	c := s.client(t, loadCard(t, alone), nil)
	if v, _ := cnsLogin(t, c, s.b.CNS); v.Verdict != "rejected" || v.Reason != "unknown_issuer" {
		t.Fatalf("/cns/check, leaf alone: %+v", v)
	}
	found := refusedLoginEvent(t, s, "unknown_issuer")
	if !strings.Contains(string(found.Detail), "SUBCA1") {
		t.Fatalf("audit detail does not name the missing issuer: %s", found.Detail)
	}
	if n := s.metric(t, `cnsgate_login_attempts_total{outcome="failure",reason="unknown_issuer"}`); n != 1 {
		t.Fatalf("unknown_issuer refusals %v, want 1", n)
	}

	raw, err := os.ReadFile(s.setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	dir, edited := withIntermediateDir(t, s.setup, string(raw), sub.Raw)
	if err := os.WriteFile(s.setup.ConfigFile, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the leaf alone accepted after SIGHUP", 10*time.Second, func() bool {
		c.CloseIdleConnections()
		v, _ := cnsLogin(t, c, s.b.CNS)
		return v.Verdict == "accepted"
	})
	requireLogLine(t, s, "trust store reloaded", dir, "1 usable intermediates (not anchors) now")
	claims := s.oidcLogin(t, s.rpBrowser(t, alone), "openid")
	if claims["sub"] == nil {
		t.Fatalf("id_token claims %v", claims)
	}
	if n := s.metric(t, `cnsgate_login_attempts_total{outcome="success",reason="none"}`); n != 1 {
		t.Fatalf("successful logins %v, want 1", n)
	}
}

// requireLogLine fails unless a log line holds every one of parts within
// a deadline: a reload publishes the new trust set before it logs it, so a
// login may see the new set first.
func requireLogLine(t *testing.T, s *testServer, parts ...string) {
	t.Helper()
	has := func() bool {
		for _, l := range s.logs.Lines() {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(l, p)
			}
			if ok {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(10 * time.Second)
	for !has() {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q:\n%s", parts, strings.Join(s.logs.Lines(), "\n"))
		}
		time.Sleep(20 * time.Millisecond) // polling the condition
	}
}
