package saml

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
)

// TestFrontChannelLogout: "Esci" on cnsgate tells the SPs that list only
// browser bindings through the browser: portal by HTTP-Redirect, kiosk by
// HTTP-POST. portal answers a wrong InResponseTo (recorded failed), kiosk
// Success (recorded ok); the chain goes on either way and ends at the
// logged-out page. Each delivery is counted and audited; a spent chain or
// an answer nobody waits for gets the error page.
func TestFrontChannelLogout(t *testing.T) {
	h := newHarness(t)
	portal := h.newSP("portal", spOptions{slo: []endpoint{{bindingRedirect, "https://portal.example/slo"}}})
	kiosk := h.newSP("kiosk", spOptions{slo: []endpoint{{bindingPost, "https://kiosk.example/slo"}}})
	h.start([]ServiceProvider{portal.cfg, kiosk.cfg})
	br := h.browser(h.citizen(citizenCF))
	got := h.loggedIn(br, portal, kiosk)

	confirm := br.get(h.public.URL+"/logout").must(t, 200, "Vuoi uscire?")
	r := post(h.public.URL+"/logout", url.Values{"csrf": {confirm.csrf(t)}})
	r.Header.Set("Origin", h.public.URL)
	p, loc := br.noFollow(t, r)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, h.public.URL+PathSLO+"?fc=") {
		t.Fatalf("Esci: %d to %q, want the front-channel chain", p.status, loc)
	}
	chain := loc
	p, loc = br.noFollow(t, get(chain))
	id, relay := h.frontRequest(t, portal, p, loc, got[portal].assertion)
	wrong := portal.logoutAnswer("_not"+id[1:], crewjam.StatusSuccess)
	p, loc = br.noFollow(t, get(portal.redirectParam(PathSLO, paramResponse, wrong, relay, dsig.RSASHA256SignatureMethod)))

	// The chain URL is spent; a replayed answer finds no chain.
	br.get(chain).must(t, 400, "Richiesta non valida")

	id, relay = h.frontRequest(t, kiosk, p, loc, got[kiosk].assertion)
	ok := postParam(t, paramResponse, kiosk.signXML(kiosk.logoutAnswer(id, crewjam.StatusSuccess), dsig.RSASHA256SignatureMethod), relay)
	p, loc = br.noFollow(t, post(h.public.URL+PathSLO, ok))
	if p.status != http.StatusSeeOther || loc != h.public.URL+"/logout" {
		t.Fatalf("end of the chain: %d to %q", p.status, loc)
	}
	br.get(loc).must(t, 200, "Hai chiuso la sessione", "rimuovi la tessera")
	br.noFollow(t, post(h.public.URL+PathSLO, ok)) // a replay
	br.get(h.public.URL+PathSLO+"?fc=nothing").must(t, 400, "Richiesta non valida")

	if okN, failedN := h.rec.note(idp.DeliverySAMLFrontChannel+"/"+ResultOK), h.rec.note(idp.DeliverySAMLFrontChannel+"/"+ResultFailed); okN != 1 || failedN != 1 {
		t.Fatalf("front-channel deliveries: %d ok, %d failed; want 1 and 1", okN, failedN)
	}
	if logs := h.takeLogs(); !strings.Contains(logs, "answers") || !strings.Contains(logs, "saml front-channel logout response refused") {
		t.Fatalf("the refused answer is not logged:\n%s", logs)
	}
	var notes []registry.Event
	waitFor(t, func() bool {
		var err error
		notes, err = h.reg.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindLogoutNotification, FiscalCode: citizenCF})
		return err == nil && len(notes) == 2
	})
	outcomes := map[string]registry.Outcome{}
	for _, e := range notes {
		if !strings.Contains(string(e.Detail), `"kind":"saml_frontchannel"`) || e.SessionHash == "" {
			t.Fatalf("audit event %+v (detail %s)", e, e.Detail)
		}
		outcomes[e.Client] = e.Outcome
	}
	if outcomes[portal.entityID] != registry.OutcomeFailure || outcomes[kiosk.entityID] != registry.OutcomeSuccess {
		t.Fatalf("audited outcomes %v", outcomes)
	}
}

// TestFrontChannelNeedsTheBrowser: a session that ends without the
// citizen (the idle timeout) cannot tell browser-only SPs; nothing is
// planned and the log says so.
func TestFrontChannelNeedsTheBrowser(t *testing.T) {
	h := newHarness(t)
	portal := h.newSP("portal", spOptions{slo: []endpoint{{bindingRedirect, "https://portal.example/slo"}}})
	h.start([]ServiceProvider{portal.cfg})
	br := h.browser(h.citizen(citizenCF))
	h.loggedIn(br, portal)
	sess, err := h.store.Get(context.Background(), br.cookie().Value)
	if err != nil {
		t.Fatal(err)
	}
	h.takeLogs()
	h.ahead.Store(int64(16 * time.Minute))
	br.get(h.public.URL+"/").must(t, 200, "Accedi con TS/CNS")
	if logs := h.takeLogs(); !strings.Contains(logs, "no browser for a front-channel logout") || !strings.Contains(logs, "cause=idle") {
		t.Fatalf("log:\n%s", logs)
	}
	if _, err := h.eph.Get(context.Background(), nsFrontPlan, sessionKey(sess)); err == nil {
		t.Fatal("a front-channel plan for a session that ended without the browser")
	}
}
