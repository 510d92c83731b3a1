package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// replica starts a second server on the same configuration as s (the same
// issuer, keys, clients, session store and registry) on listeners of its
// own, as a replica behind a load balancer.
func (s *testServer) replica(t *testing.T) *testServer {
	t.Helper()
	raw, err := os.ReadFile(s.setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	own := fmt.Sprintf("listen:\n  public: %q\n  cns: %q\n  admin: %q\n", s.cfg.Listen.Public, s.cfg.Listen.CNS, s.cfg.Listen.Admin)
	if !strings.Contains(string(raw), own) {
		t.Fatalf("the configuration has no listen block %q", own)
	}
	yml := strings.Replace(string(raw), own, fmt.Sprintf("listen:\n  public: %q\n  cns: %q\n  admin: %q\n", freeAddr(t), freeAddr(t), freeAddr(t)), 1)
	file := filepath.Join(t.TempDir(), "replica.yaml")
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	return serveConfig(t, s.setup, file)
}

// refreshAt spends a refresh token of esenzioni at the server's token
// endpoint and returns the status and the answer.
func (s *testServer) refreshAt(c *http.Client, rt string) (int, map[string]any, error) {
	_, port, _ := net.SplitHostPort(s.b.Public)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	req, _ := http.NewRequest("POST", "https://localhost:"+port+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("esenzioni", "a-long-enough-client-secret")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, out, nil
}

// TestParallelRefreshAcrossReplicas is mod_auth_openidc's pattern behind a
// load balancer: several workers refresh the same token at once, half of
// them reaching another replica. Two servers share one real Redis: every
// parallel refresh within oidc.refresh_reuse_grace gets the one successor,
// and nothing is revoked; after the window the reuse revokes the family
// (the successor dies too), and both replicas count what they saw in
// cnsgate_refresh_token_reuse_total.
func TestParallelRefreshAcrossReplicas(t *testing.T) {
	const grace = 3 * time.Second
	redis := sessionstest.RedisAddr(t)
	a := startServer(t, func(y string) string {
		const mem = "sessions:\n  store: memory\n"
		if !strings.Contains(y, mem) {
			t.Fatalf("the demo configuration changed shape (no %q)", mem)
		}
		y = strings.Replace(y, mem, fmt.Sprintf("sessions:\n  store: redis\n  redis:\n    addrs: [%q]\n", redis), 1)
		return y + oidcConfig(t, "") + fmt.Sprintf("  refresh_reuse_grace: %s\n", grace)
	})
	b := a.replica(t)
	citizen, _ := a.setup.Card("citizen")
	tok := a.oidcTokens(t, a.rpBrowser(t, citizen), "openid")
	rt, _ := tok["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("no refresh token: %v", tok)
	}
	c := a.client(t, nil, nil)

	const n = 6
	type result struct {
		status int
		body   map[string]any
		err    error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, body, err := srv.refreshAt(c, rt)
			results[i] = result{st, body, err}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)
	successor, access := "", ""
	for i, r := range results {
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("parallel refresh %d (replica %c): %d %v %v", i, "ab"[i%2], r.status, r.body, r.err)
		}
		if i == 0 {
			successor, _ = r.body["refresh_token"].(string)
			access, _ = r.body["access_token"].(string)
		}
		if r.body["refresh_token"] != successor || r.body["access_token"] != access || successor == "" || successor == rt {
			t.Fatalf("parallel refresh %d got another answer: %v (first: %s)", i, r.body["refresh_token"], successor)
		}
	}
	t.Logf("%d parallel refreshes over 2 replicas: one successor, in %s", n, took.Round(time.Millisecond))
	graced := func() float64 {
		sample := `cnsgate_refresh_token_reuse_total{client="esenzioni",outcome="graced"}`
		return a.counter(t, sample) + b.counter(t, sample)
	}
	if got := graced(); got != n-1 {
		t.Fatalf("graced reuses counted by the replicas: %v, want %d", got, n-1)
	}

	// The successor works, at either replica, within the window too.
	st, next, err := b.refreshAt(c, successor)
	if err != nil || st != http.StatusOK {
		t.Fatalf("successor refused: %d %v %v", st, next, err)
	}
	newest, _ := next["refresh_token"].(string)

	// After the window, the old token again: the whole family is revoked.
	time.Sleep(time.Until(began.Add(grace + 200*time.Millisecond)))
	st, out, err := a.refreshAt(c, rt)
	if err != nil || st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("reuse after the window: %d %v %v", st, out, err)
	}
	st, out, err = b.refreshAt(c, newest)
	if err != nil || st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Fatalf("the family's newest token after a late reuse: %d %v %v", st, out, err)
	}
	revoked := `cnsgate_refresh_token_reuse_total{client="esenzioni",outcome="revoked"}`
	if got := a.counter(t, revoked) + b.counter(t, revoked); got != 1 {
		t.Fatalf("revoking reuses counted: %v, want 1", got)
	}
	if got := graced(); got != n-1 {
		t.Fatalf("graced reuses after the window: %v, want %d", got, n-1)
	}
}
