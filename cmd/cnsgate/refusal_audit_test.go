package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// queryAudit runs "cnsgate audit query" on the running server's registry
// with extra flags and returns the events, newest first.
func queryAudit(t *testing.T, s *testServer, flags ...string) []map[string]any {
	t.Helper()
	var out, errb strings.Builder
	args := append([]string{"audit", "query", "--config", s.setup.ConfigFile}, flags...)
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("audit query: exit %d: %s", code, errb.String())
	}
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

// TestRefusedCardsAuditedWithTheirCard logs in to a running serve with an
// expired card, a revoked one and one of an unknown CA: each refusal's
// audit event names the card — fiscal code (stored in full, masked in
// every log line: the test server's log capture fails on one in full),
// serial and issuer.
func TestRefusedCardsAuditedWithTheirCard(t *testing.T) {
	s := startServer(t, nil)
	stranger, err := cnstest.NewRegionalCA("Umbria")
	if err != nil {
		t.Fatal(err)
	}
	strangerCF := cnstest.FiscalCode(7)
	strangerCard := stranger.MustIssueCard(cnstest.CardOptions{FiscalCode: strangerCF})
	type card struct {
		reason, fiscalCode string
		pair               tls.Certificate
	}
	cards := []card{{reason: "unknown_issuer", fiscalCode: strangerCF, pair: strangerCard.TLSCertificate()}}
	for _, name := range []string{"expired", "revoked"} {
		c := cardByName(t, s.setup, name)
		cards = append(cards, card{reason: name, fiscalCode: c.FiscalCode, pair: *loadCard(t, c)})
	}
	for _, c := range cards {
		if code, _ := loginPage(t, s.client(t, &c.pair, nil), s.b.CNS); code != http.StatusForbidden {
			t.Fatalf("%s card: %d, want 403", c.reason, code)
		}
	}
	for _, c := range cards {
		leaf := c.pair.Leaf
		var found map[string]any
		deadline := time.Now().Add(5 * time.Second)
		for found == nil {
			for _, e := range queryAudit(t, s, "--kind", "login", "--outcome", "failure") {
				if e["reason"] == c.reason {
					found = e
				}
			}
			if found == nil && time.Now().After(deadline) {
				t.Fatalf("%s: no audit event", c.reason)
			}
			time.Sleep(20 * time.Millisecond)
		}
		want := map[string]string{"fiscal_code": c.fiscalCode, "card_serial": hex.EncodeToString(leaf.SerialNumber.Bytes()), "issuer": leaf.Issuer.CommonName}
		for k, v := range want {
			if found[k] != v {
				t.Errorf("%s refusal: %s = %v, want %q (event %v)", c.reason, k, found[k], v, found)
			}
		}
	}
}

// TestReplayedHandoffCodeAuditedAndCounted redeems a handoff code on a
// running serve, then replays it and sends a made-up one: both are
// refused, audited (kind handoff) and counted.
func TestReplayedHandoffCodeAuditedAndCounted(t *testing.T) {
	s := startServer(t, nil)
	citizen := loadCard(t, cardByName(t, s.setup, "citizen"))
	jar, _ := cookiejar.New(nil)
	c := s.client(t, citizen, nil)
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	u := s.cfg.CNSOrigin + "/cns/login"
	for range 5 {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET %s: %d, want a redirect", u, resp.StatusCode)
		}
		if u = resp.Header.Get("Location"); strings.Contains(u, "/cns/complete?code=") {
			break
		}
	}
	if !strings.Contains(u, "/cns/complete?code=") {
		t.Fatalf("no handoff link (last %s)", u)
	}
	get := func(u string) int {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(u); code != http.StatusSeeOther && code != http.StatusOK {
		t.Fatalf("first redemption: %d", code)
	}
	if code := get(u); code != http.StatusBadRequest {
		t.Fatalf("replayed code: %d, want 400", code)
	}
	if code := get(s.cfg.Issuer + "/cns/complete?code=made-up-code"); code != http.StatusBadRequest {
		t.Fatalf("made-up code: %d, want 400", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		events := queryAudit(t, s, "--kind", "handoff")
		if len(events) == 2 {
			for _, e := range events {
				if e["outcome"] != "failure" || e["reason"] != "invalid_code" || e["remote_ip"] == nil {
					t.Errorf("handoff event: %v", e)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handoff audit events: %v", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get("http://" + s.b.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\ncnsgate_handoff_refused_total 2\n") {
		t.Errorf("/metrics: cnsgate_handoff_refused_total is not 2")
	}
}
