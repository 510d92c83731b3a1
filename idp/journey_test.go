package idp_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestJourney is the citizen's whole journey over real TLS, on each pair
// of real stores: register, log in, welcome page, log out, and the old
// cookie is worth nothing.
func TestJourney(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			h := newHarness(t, b, harnessOptions{})
			card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S", GivenName: "MARIO", FamilyName: "ROSSI"})
			br := h.browser(card)

			br.get(h.public.URL+"/").must(t, 200, "Accedi con TS/CNS", h.public.URL+"/cns/start")
			h.register(br)
			if reg, err := h.reg.Get(context.Background(), "RSSMRA85T10A562S"); err != nil || reg.Fingerprint != x509cns.Fingerprint(card.Cert) {
				t.Fatalf("registration not stored: %+v %v", reg, err)
			}

			welcome := h.login(br)
			welcome.must(t, 200, "RSSMRA85T10A562S", "Mario Rossi", "Toscana", "Esenzioni da reddito", "Ultimi accessi")
			if welcome.url.String() != h.public.URL+"/" {
				t.Fatalf("login ended at %s, want the public origin", welcome.url)
			}
			c := br.cookie()
			if c == nil {
				t.Fatal("no session cookie")
			}
			// English on request.
			req, _ := http.NewRequest("GET", h.public.URL+"/", nil)
			req.Header.Set("Accept-Language", "en")
			resp, err := br.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			readPage(t, resp).must(t, 200, "Active services", "Log out")

			loggedOut := br.post(h.public.URL+"/logout", url.Values{"csrf": {welcome.csrf(t)}}, h.public.URL)
			loggedOut.must(t, 200, "chiudi il browser e rimuovi la tessera")
			if br.cookie() != nil {
				t.Fatal("cookie not cleared at logout")
			}
			if len(h.notified) != 1 || h.notified[0] != "logout" {
				t.Fatalf("logout notifications: %v", h.notified)
			}

			// The old cookie is worth nothing now.
			stale := h.browser(nil)
			u, _ := url.Parse(h.public.URL)
			stale.c.Jar.SetCookies(u, []*http.Cookie{c})
			stale.get(h.public.URL+"/").must(t, 200, "Accedi con TS/CNS")

			// The audit trail holds the registration, the login and the end.
			events, err := h.reg.QueryAudit(context.Background(), registry.AuditQuery{FiscalCode: "RSSMRA85T10A562S"})
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[registry.EventKind]int{}
			for _, e := range events {
				kinds[e.Kind]++
			}
			if kinds[registry.KindRegistration] != 1 || kinds[registry.KindSessionEnd] != 1 || kinds[registry.KindLogin] < 2 {
				t.Fatalf("audit events: %v", kinds)
			}
		})
	}
}

// TestRefusals covers the ways a login is refused or a form rejected.
func TestRefusals(t *testing.T) {
	b := backends[0]
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"fail/unregistered-card-is-offered-registration", func(t *testing.T, h *harness) {
			br := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{}))
			br.get(h.cns.URL+"/cns/login").must(t, 200, "Registra TS-CNS", `name="consent"`)
		}},
		{"fail/expired-card", func(t *testing.T, h *harness) {
			card := h.ca.MustIssueCard(cnstest.CardOptions{NotBefore: h.now.AddDate(-7, 0, 0), NotAfter: h.now.AddDate(-1, 0, 0)})
			h.browser(card).get(h.cns.URL+"/cns/login").must(t, 403, "scaduto")
		}},
		{"fail/no-card", func(t *testing.T, h *harness) {
			h.browser(nil).get(h.cns.URL+"/cns/login").must(t, 403, "non ha presentato alcun certificato")
		}},
		{"fail/revoked-card-ends-nothing-and-is-refused", func(t *testing.T, h *harness) {
			card := h.ca.MustIssueCard(cnstest.CardOptions{})
			br := h.browser(card)
			h.register(br)
			h.revoked[x509cns.Fingerprint(card.Cert)] = true
			br.get(h.cns.URL+"/cns/login").must(t, 403, "revocato")
		}},
		{"fail/replayed-handoff-code", func(t *testing.T, h *harness) {
			card := h.ca.MustIssueCard(cnstest.CardOptions{})
			br := h.browser(card)
			h.register(br)
			next := br.br.HandoffLink(h.cns.URL + "/cns/login")
			br.get(next).must(t, 200, "Servizi attivi")
			other := h.browser(nil) // an eavesdropper replaying the code
			other.get(next).must(t, 400, "già stato usato")
			br.get(next).must(t, 400, "già stato usato") // and the browser itself
			if other.cookie() != nil {
				t.Fatal("replayed code set a cookie")
			}
		}},
		{"fail/missing-csrf-on-register", func(t *testing.T, h *harness) {
			br := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{}))
			br.get(h.cns.URL + "/cns/login")
			br.post(h.cns.URL+"/cns/register", url.Values{"consent": {"yes"}}, h.cns.URL).must(t, 403, "Errore di registrazione")
		}},
		{"fail/forged-csrf-on-register", func(t *testing.T, h *harness) {
			br := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{}))
			br.get(h.cns.URL + "/cns/login")
			br.post(h.cns.URL+"/cns/register", url.Values{"csrf": {"forged-token-forged-token-forged"}, "consent": {"yes"}}, h.cns.URL).
				must(t, 403, "Errore di registrazione")
		}},
		{"fail/csrf-of-another-card", func(t *testing.T, h *harness) {
			victim := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{}))
			tok := victim.get(h.cns.URL + "/cns/login").csrf(t)
			attacker := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{}))
			attacker.post(h.cns.URL+"/cns/register", url.Values{"csrf": {tok}, "consent": {"yes"}}, h.cns.URL).
				must(t, 403, "Errore di registrazione")
		}},
		{"fail/cross-origin-register", func(t *testing.T, h *harness) {
			br := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{}))
			tok := br.get(h.cns.URL + "/cns/login").csrf(t)
			br.post(h.cns.URL+"/cns/register", url.Values{"csrf": {tok}, "consent": {"yes"}}, "https://evil.example").
				must(t, 403, "Errore di registrazione")
		}},
		{"fail/no-consent", func(t *testing.T, h *harness) {
			br := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{}))
			tok := br.get(h.cns.URL + "/cns/login").csrf(t)
			br.post(h.cns.URL+"/cns/register", url.Values{"csrf": {tok}}, h.cns.URL).must(t, 400, "consenso")
		}},
		{"fail/forged-csrf-on-logout", func(t *testing.T, h *harness) {
			br := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{}))
			h.register(br)
			h.login(br)
			br.post(h.public.URL+"/logout", url.Values{"csrf": {"forged-token-forged-token-forged"}}, h.public.URL).must(t, 403)
			br.post(h.public.URL+"/logout", url.Values{}, h.public.URL).must(t, 403)
			br.get(h.public.URL+"/").must(t, 200, "Servizi attivi") // still logged in
			// GET /logout only asks; the form it shows logs out.
			confirm := br.get(h.public.URL+"/logout").must(t, 200, "Vuoi uscire?")
			br.post(h.public.URL+"/logout", url.Values{"csrf": {confirm.csrf(t)}}, h.public.URL).must(t, 200, "rimuovi la tessera")
		}},
		{"ok/new-card-replaces-old", func(t *testing.T, h *harness) {
			old := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S", UniqueKey: true})
			oldBrowser := h.browser(old)
			h.register(oldBrowser)
			h.login(oldBrowser)
			renewed := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S", UniqueKey: true})
			nb := h.browser(renewed)
			h.register(nb)
			h.login(nb)
			// The old card's session ended with the replacement, and the old
			// card no longer logs in.
			oldBrowser.get(h.public.URL+"/").must(t, 200, "Accedi con TS/CNS")
			oldBrowser.get(h.cns.URL+"/cns/login").must(t, 403, "sostituita")
		}},
		{"ok/sso-second-login-replaces-session", func(t *testing.T, h *harness) {
			br := h.browser(h.ca.MustIssueCard(cnstest.CardOptions{}))
			h.register(br)
			h.login(br)
			first := br.cookie().Value
			h.login(br)
			if br.cookie().Value == first {
				t.Fatal("a new login kept the session id")
			}
			if len(h.notified) != 1 || h.notified[0] != "replaced" {
				t.Fatalf("notifications: %v", h.notified)
			}
		}},
		{"ok/revocation-event-ends-sessions", func(t *testing.T, h *harness) {
			card := h.ca.MustIssueCard(cnstest.CardOptions{})
			br := h.browser(card)
			h.register(br)
			h.login(br)
			id, _ := x509cns.ExtractIdentity(card.Cert, h.ca.Cert)
			h.svc.CardsRevoked(context.Background(), id.Issuer, []string{id.Serial})
			br.get(h.public.URL+"/").must(t, 200, "Accedi con TS/CNS")
			if len(h.notified) != 1 || h.notified[0] != "revoked" {
				t.Fatalf("notifications: %v", h.notified)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newHarness(t, b, harnessOptions{}))
		})
	}
}

func TestAllowlist(t *testing.T) {
	h := newHarness(t, backends[0], harnessOptions{allowlist: true})
	eligible := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S"})
	other := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: cnstest.FiscalCode(3)})
	if _, err := h.reg.ImportEligible(context.Background(), []registry.Eligible{{FiscalCode: "RSSMRA85T10A562S"}}, false); err != nil {
		t.Fatal(err)
	}
	h.browser(other).get(h.cns.URL+"/cns/login").must(t, 403, "abilitati")
	br := h.browser(eligible)
	h.register(br)
	h.login(br)
}

// TestRedisOutage stops the test's own Redis under a running service: the
// citizen reads "temporaneamente non disponibile" (503), nothing crashes,
// readiness says so, and service resumes by itself when Redis returns.
func TestRedisOutage(t *testing.T) {
	srv := sessionstest.StartRedisServer(t)
	h := newHarness(t, backends[0], harnessOptions{sessions: func(t *testing.T) (sessions.Store, sessions.Ephemeral) {
		return redisSessionsAt(t, srv.Addr)
	}})
	card := h.ca.MustIssueCard(cnstest.CardOptions{})
	br := h.browser(card)
	h.register(br)
	h.login(br)

	srv.Stop()
	br.get(h.public.URL+"/").must(t, 503, "temporaneamente non disponibile")
	br.get(h.cns.URL+"/cns/login").must(t, 503, "temporaneamente non disponibile")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := h.svc.Ready(ctx); err == nil {
		t.Fatal("ready while Redis is down")
	}

	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for h.svc.Ready(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("not ready again after Redis came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Redis kept nothing: the citizen logs in again and carries on.
	br.get(h.public.URL+"/").must(t, 200, "Accedi con TS/CNS")
	h.login(br)
	if _, err := h.store.Get(context.Background(), br.cookie().Value); err != nil && !errors.Is(err, sessions.ErrNotFound) {
		t.Fatal(err)
	}
}
