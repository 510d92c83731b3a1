package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/idptest"
)

// logged reports whether one line of the captured log holds every part.
func logged(logs *idptest.LogCapture, parts ...string) bool {
	for _, l := range logs.Lines() {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return true
		}
	}
	return false
}

// cardByName returns the demo card of that name.
func cardByName(t *testing.T, setup *demo.Setup, name string) demo.Card {
	t.Helper()
	for _, c := range setup.Cards {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no demo card %q", name)
	return demo.Card{}
}

// loginPage opens "Login TS-CNS" on the card listener with a card and
// returns the status and page.
func loginPage(t *testing.T, c *http.Client, addr string) (int, string) {
	t.Helper()
	c.CloseIdleConnections()
	resp, err := c.Get("https://" + addr + "/cns/login")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestServeReadsAllowlistFileAtStartAndOnSIGHUP: in allowlist mode serve
// reads registration.allowlist_file at start (a bad row is logged with its
// line, the others are loaded) and again on SIGHUP, so that a citizen added
// to the file can register without "registrations import".
func TestServeReadsAllowlistFileAtStartAndOnSIGHUP(t *testing.T) {
	var allowFile string
	s := startServerSetup(t, func(setup *demo.Setup, y string) string {
		allowFile = filepath.Join(setup.Dir, "allowlist.csv")
		// Line 2 is good (a citizen with no card here), line 3 is bad.
		if err := os.WriteFile(allowFile, []byte("codice_fiscale;nome;cognome\nRSSMRA85T10A562S;Mario;Rossi\nRSSMRA85T10A562X;Errato;Errato\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return y + "registration:\n  mode: allowlist\n  allowlist_file: " + allowFile + "\n"
	})
	if !logged(s.logs, "allowlist row not loaded", "line=3") || !logged(s.logs, "allowlist loaded", "rows=1", "bad_rows=1", "inserted=1") {
		t.Fatalf("start: the allowlist's rows were not reported:\n%s", strings.Join(s.logs.Lines(), "\n"))
	}
	anna := cardByName(t, s.setup, "unregistered")
	c := s.client(t, loadCard(t, anna), nil)
	if code, page := loginPage(t, c, s.b.CNS); code != http.StatusForbidden || strings.Contains(page, `name="consent"`) {
		t.Fatalf("a citizen not in the allowlist: %d, want 403 without the registration form", code)
	}

	// Anna is added to the file; SIGHUP, and she may register.
	f, err := os.OpenFile(allowFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(anna.FiscalCode + ";Anna;Verdi\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, page := loginPage(t, c, s.b.CNS)
		if code == http.StatusOK && strings.Contains(page, `name="consent"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP: %d, no registration form", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The reload is audited with what it loaded; the bad row is still
	// reported with its line.
	deadline = time.Now().Add(5 * time.Second)
	for {
		var out strings.Builder
		run(context.Background(), []string{"audit", "query", "--config", s.setup.ConfigFile, "--kind", "config_reload"}, &out, io.Discard)
		if strings.Contains(out.String(), `"part":"allowlist"`) {
			if !strings.Contains(out.String(), `"outcome":"success"`) {
				t.Fatalf("allowlist reload audited as a failure:\n%s", out.String())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no allowlist reload in the audit trail:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := strings.Count(strings.Join(s.logs.Lines(), "\n"), "allowlist row not loaded"); n != 2 {
		t.Errorf("the bad row was reported %d times, want once at start and once on SIGHUP", n)
	}

	// A file that can no longer be read keeps the eligible citizens.
	if err := os.Remove(allowFile); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for !logged(s.logs, "allowlist reload failed") {
		if time.Now().After(deadline) {
			t.Fatal("a missing allowlist file on SIGHUP was not reported")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, page := loginPage(t, c, s.b.CNS); code != http.StatusOK || !strings.Contains(page, `name="consent"`) {
		t.Fatalf("after a failed reload: %d, the eligible citizen lost the registration form", code)
	}
}
