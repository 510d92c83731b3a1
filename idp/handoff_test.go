package idp_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestHandoffLoginCSRF is the login-CSRF attack over the network: the
// attacker logs in with their own card, stops before /cns/complete, and
// has a victim's browser (its own cookie jar) open the link. It is refused
// with handoff_mismatch, sets no session cookie, is audited and counted,
// and the attacker's own browser still completes with the same code.
func TestHandoffLoginCSRF(t *testing.T) {
	starts := []struct {
		name string
		url  func(h *harness) string
	}{
		{"card-listener", func(h *harness) string { return h.cns.URL + "/cns/login" }},
		{"public-origin", func(h *harness) string { return h.public.URL + idp.PathStart }},
	}
	victims := []struct {
		name string
		prep func(t *testing.T, h *harness, v *browser)
	}{
		{"no-login-cookie", func(*testing.T, *harness, *browser) {}},
		{"own-login-cookie", func(t *testing.T, h *harness, v *browser) {
			// The victim began a login of their own: they hold a nonce too.
			v.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := v.c.Get(h.public.URL + idp.PathStart)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			v.c.CheckRedirect = nil
			if loginCookie(h, v) == nil {
				t.Fatal("the victim got no login cookie")
			}
		}},
	}
	for _, b := range backends {
		for _, st := range starts {
			for _, vc := range victims {
				t.Run(b.name+"/"+st.name+"/"+vc.name, func(t *testing.T) {
					rec := &countingRecorder{}
					h := newHarness(t, b, harnessOptions{recorder: rec})
					card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S"})
					attacker := h.browser(card)
					h.register(attacker)
					link := attacker.br.HandoffLink(st.url(h))

					victim := h.browser(nil)
					vc.prep(t, h, victim)
					victim.get(link).must(t, http.StatusForbidden, "browser diverso", "ricomincia l&#39;accesso")
					if victim.cookie() != nil {
						t.Fatal("the attacker's code set a session cookie in the victim's browser")
					}
					waitAudit(t, h, "RSSMRA85T10A562S", registry.OutcomeFailure, x509cns.ReasonHandoffMismatch)
					if n := rec.count("failure/" + string(x509cns.ReasonHandoffMismatch)); n != 1 {
						t.Fatalf("login_attempts{failure,handoff_mismatch} = %d, want 1", n)
					}

					// The code was not spent: the browser that started the login completes.
					attacker.get(link).must(t, 200, "Servizi attivi", "RSSMRA85T10A562S")
					if attacker.cookie() == nil {
						t.Fatal("the legitimate browser got no session cookie")
					}
					victim.get(h.public.URL+"/").must(t, 200, "Accedi con TS/CNS")
				})
			}
		}
	}
}

// TestHandoffLoginCookie: the login cookie is a short-lived __Host- cookie
// of the public origin, and two logins of one browser share it (two tabs).
func TestHandoffLoginCookie(t *testing.T) {
	h := newHarness(t, backends[0], harnessOptions{})
	br := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{}))
	br.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := br.c.Get(h.public.URL + idp.PathStart)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var set *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == idp.LoginCookie {
			set = c
		}
	}
	if set == nil || !set.Secure || !set.HttpOnly || set.Path != "/" || set.Domain != "" || set.MaxAge <= 0 || set.MaxAge > 600 {
		t.Fatalf("login cookie %+v", set)
	}
	first := loginCookie(h, br).Value
	if resp, err = br.c.Get(h.public.URL + idp.PathStart); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loginCookie(h, br).Value != first {
		t.Fatal("a second login of the same browser replaced its nonce: the first tab would be refused")
	}
}

func loginCookie(h *harness, b *browser) *http.Cookie {
	u, _ := url.Parse(h.public.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == idp.LoginCookie {
			return c
		}
	}
	return nil
}

func (c *countingRecorder) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logins[key]
}

// waitAudit waits, up to a deadline, for a login event of fiscalCode with
// outcome and reason in the registry's audit table.
func waitAudit(t *testing.T, h *harness, fiscalCode string, outcome registry.Outcome, reason x509cns.Reason) registry.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, err := h.reg.QueryAudit(context.Background(), registry.AuditQuery{FiscalCode: fiscalCode, Kind: registry.KindLogin, Outcome: outcome})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Reason == string(reason) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s login event with reason %s for %s in the audit trail: %+v", outcome, reason, fiscalCode, events)
		}
		time.Sleep(20 * time.Millisecond) // polling the condition, not waiting for a guess
	}
}
