package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestServeRateLimitsLoginStarts runs `cnsgate serve` with limits.* set
// and floods /authorize from 127.0.0.2 over TLS: past the burst the answer
// is 429 with Retry-After, counted on /metrics by route, while another
// client IP (127.0.0.1) still gets the login page.
func TestServeRateLimitsLoginStarts(t *testing.T) {
	keyFile := t.TempDir() + "/signing.pem"
	if code := run(context.Background(), []string{"keys", "generate", "--out", keyFile}, io.Discard, io.Discard); code != 0 {
		t.Fatal("keys generate failed")
	}
	s := startServer(t, func(y string) string {
		return y + "oidc:\n  subject_salt: " + strings.Repeat("s", 40) + "\n  signing_keys: [" + keyFile + "]\n" +
			"  clients:\n    - id: esenzioni\n      secret: a-long-enough-client-secret\n      redirect_uris: [https://esenzioni.example/cb]\n" +
			"limits:\n  pending_per_ip_rate: 1\n  pending_per_ip_burst: 3\n  pending_max: 100\n"
	})
	q := url.Values{"response_type": {"code"}, "client_id": {"esenzioni"}, "redirect_uri": {"https://esenzioni.example/cb"},
		"scope": {"openid"}, "state": {"st"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	authURL := s.cfg.Issuer + "/authorize?" + q.Encode()

	attacker := s.client(t, nil, nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	attacker.Transport.(*http.Transport).DialContext = d.DialContext
	statuses := map[int]int{}
	for range 20 {
		resp, err := attacker.Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if statuses[http.StatusOK] != 3 || statuses[http.StatusTooManyRequests] != 17 {
		t.Fatalf("answers by status = %v; want 3 login pages then 17 refusals", statuses)
	}
	resp, err := s.client(t, nil, nil).Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("another client IP: %d, want the login page", resp.StatusCode)
	}
	resp, err = http.Get("http://" + s.b.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `cnsgate_rate_limited_total{route="/authorize"} 17`; !strings.Contains(string(body), want) {
		t.Fatalf("/metrics lacks %s", want)
	}
	// The 17 refusals are one throttling episode: one audit event, naming
	// the attacker's address, not one per request.
	events := s.waitAudit(t, 1, "--kind", "rate_limited")
	if len(events) != 1 || events[0]["remote_ip"] == nil || !strings.HasPrefix(fmt.Sprint(events[0]["remote_ip"]), "127.0.0.2") ||
		events[0]["reason"] != "rate_limited" {
		t.Fatalf("audit events of kind rate_limited = %v; want one from 127.0.0.2", events)
	}
}
