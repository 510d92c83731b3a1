package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

// hungRegistryServer runs serve on a PostgreSQL of the test's own (so that
// freezing it hurts no other test), with registry.timeout 1s and the
// citizen's card registered.
func hungRegistryServer(t *testing.T) (*testServer, *registrytest.PrivatePostgres) {
	t.Helper()
	pg := registrytest.StartPrivatePostgres(t)
	s := startServer(t, func(yml string) string {
		i := strings.Index(yml, "registry:\n")
		j := strings.Index(yml[i:], "log:\n")
		if i < 0 || j < 0 {
			t.Fatalf("the demo configuration changed shape; edit this test:\n%s", yml)
		}
		return yml[:i] + fmt.Sprintf("registry:\n  driver: postgres\n  dsn: %q\n  timeout: 1s\n", pg.DSN) + yml[i+j:]
	})
	card, _ := s.setup.Card("citizen")
	registerCard(t, s.cfg, pg.DSN, card)
	return s, pg
}

// cardLogin asks the card listener for a login with a fresh connection
// and returns the status and how long the answer took.
func cardLogin(t *testing.T, s *testServer) (int, time.Duration) {
	t.Helper()
	card, _ := s.setup.Card("citizen")
	c := s.client(t, loadCard(t, card), nil)
	c.Timeout = 30 * time.Second
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	start := time.Now()
	resp, err := c.Get("https://" + s.b.CNS + "/cns/login")
	if err != nil {
		t.Fatalf("card login: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// TestRegistryHangGivesCleanUnavailable freezes the registry's PostgreSQL
// with SIGSTOP: a login begun during the hang gets the 503 page within the
// registry timeout (not the length of the hang), /readyz turns false, and
// logins succeed again soon after the database is thawed.
func TestRegistryHangGivesCleanUnavailable(t *testing.T) {
	s, pg := hungRegistryServer(t)
	if code, _ := cardLogin(t, s); code != http.StatusSeeOther {
		t.Fatalf("login before the hang: %d, want 303", code)
	}

	pg.Freeze()
	code, took := cardLogin(t, s)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("login during the hang: %d, want 503", code)
	}
	// registry.timeout is 1s; the bound leaves room for a loaded machine,
	// and stays far below the 30 s a hang used to cost.
	if took > 5*time.Second {
		t.Fatalf("login during the hang took %s, want about the 1s registry timeout", took)
	}
	resp, err := http.Get("http://" + s.b.Admin + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the hang: %d, want 503", resp.StatusCode)
	}

	pg.Thaw()
	thawed := time.Now()
	waitFor(t, "a login to succeed after the thaw", 10*time.Second, func() bool {
		code, _ := cardLogin(t, s)
		return code == http.StatusSeeOther
	})
	t.Logf("login during the hang answered 503 in %s; logins succeed again %s after the thaw", took, time.Since(thawed).Round(time.Millisecond))
}

// TestAuditSurvivesLeavingBrowserAndHang sends refused logins (an expired
// card) whose clients give up while the database hangs: every one of them
// still gets its audit row once the database answers again.
func TestAuditSurvivesLeavingBrowserAndHang(t *testing.T) {
	s, pg := hungRegistryServer(t)
	expired, _ := s.setup.Card("expired")
	pg.Freeze()
	const n = 5
	for i := 0; i < n; i++ {
		c := s.client(t, loadCard(t, expired), nil)
		c.Timeout = 300 * time.Millisecond // the browser leaves mid-request
		if resp, err := c.Get("https://" + s.b.CNS + "/cns/login"); err == nil {
			resp.Body.Close()
			t.Fatalf("refused login %d answered (%d) while the audit store hangs", i, resp.StatusCode)
		}
	}
	pg.Thaw()
	db, err := sqlstore.Open(context.Background(), sqlstore.DriverPostgres, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows []registry.Event
	waitFor(t, fmt.Sprintf("%d audit rows of the abandoned logins", n), 20*time.Second, func() bool {
		rows, err = db.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindLogin, Outcome: registry.OutcomeFailure})
		return err == nil && len(rows) >= n
	})
	for _, e := range rows {
		if e.Reason != "expired" {
			t.Errorf("audit row reason %q, want expired", e.Reason)
		}
	}
}
