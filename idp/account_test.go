package idp_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// "La mia tessera" and the consent record, over the network against the
// running login service, on SQLite and on PostgreSQL (with Redis
// sessions): the consent stored with its version, time and channel; the
// registration form sent again after a consent error with the real form
// token flow; the superseded card named; the cards with their status; a
// card removed; the history paginated and as CSV (headers, formulas
// neutralised); the consent withdrawn (sessions ended, told, the card
// offered registration again); bad forms refused.

const accountCF = "VRDLGU70A01H501O"

// accountRecorder counts the acts of "La mia tessera" by action.
type accountRecorder struct {
	countingRecorder
	mu   sync.Mutex
	acts map[string]int
}

func (r *accountRecorder) AccountAction(action string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acts[action]++
}

func (r *accountRecorder) count(action string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acts[action]
}

// postNoFollow posts form to u from origin and returns the answer without
// following a redirect.
func (b *browser) postNoFollow(t *testing.T, u string, form url.Values, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// registerAfterConsentError registers card the way a citizen who forgot
// the box does: the form comes back with the message and a fresh token,
// the old token is spent, and the second submission registers.
func registerAfterConsentError(t *testing.T, h *harness, br *browser) page {
	t.Helper()
	cns := h.cns.URL
	form := br.get(cns+"/cns/login").must(t, 200, "Registra TS-CNS", "Versione del testo del consenso: 2026-03")
	first := form.csrf(t)
	again := br.post(cns+"/cns/register", url.Values{"csrf": {first}}, cns).
		must(t, http.StatusBadRequest, "Per registrare la tessera è necessario dare il consenso.", `action="/cns/register"`, `aria-invalid="true"`)
	second := again.csrf(t)
	if second == first {
		t.Fatal("the form came back with the spent token")
	}
	br.post(cns+"/cns/register", url.Values{"csrf": {first}, "consent": {"yes"}}, cns).must(t, http.StatusForbidden)
	again = br.get(cns+"/cns/login").must(t, 200, "Registra TS-CNS")
	return br.post(cns+"/cns/register", url.Values{"csrf": {again.csrf(t)}, "consent": {"yes"}}, cns).must(t, 200, "Operazione correttamente eseguita")
}

func TestAccount(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			rec := &accountRecorder{acts: map[string]int{}}
			h := newHarness(t, b, harnessOptions{consentVersion: "2026-03", recorder: rec})
			ctx := context.Background()
			card1 := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: accountCF, GivenName: "LUIGI", FamilyName: "VERDI"})
			br1 := h.browser(card1)
			before := time.Now().UTC().Add(-time.Second)
			registerAfterConsentError(t, h, br1)
			cs, err := h.reg.Consents(ctx, accountCF)
			if err != nil || len(cs) != 1 {
				t.Fatalf("consents %+v, %v; want one", cs, err)
			}
			if c := cs[0]; c.Version != "2026-03" || c.Channel != registry.ChannelWeb || c.GivenAt.Before(before) || c.GivenAt.After(time.Now()) || c.Withdrawn() {
				t.Fatalf("consent stored as %+v; want version 2026-03, channel web, now", c)
			}
			h.login(br1).must(t, 200, `href="/account"`, "La mia tessera")

			// A new card for the same citizen names the one it supersedes.
			regs, _ := h.reg.List(ctx, registry.ListFilter{FiscalCode: accountCF})
			old := regs[0]
			card2 := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: accountCF, GivenName: "LUIGI", FamilyName: "VERDI"})
			br2 := h.browser(card2)
			form := br2.get(h.cns.URL+"/cns/login").must(t, 200, "Registra TS-CNS")
			br2.post(h.cns.URL+"/cns/register", url.Values{"csrf": {form.csrf(t)}, "consent": {"yes"}}, h.cns.URL).
				must(t, 200, "Questa tessera sostituisce la tessera n. "+old.CardID+".")
			h.login(br2)

			acc := br2.get(h.public.URL+idp.PathAccount).must(t, 200, "Tessere registrate", "(in uso ora)", "Attiva", "Sostituita", "2026-03", "I miei accessi", "Registrazione della tessera")
			if strings.Contains(acc.body, "tessera non registrata") || strings.Contains(acc.body, "not_registered") {
				t.Fatal("the history lists the visits before the registration")
			}
			accountRefusals(t, h, br2, old.ID)

			// The superseded card removed: this session goes on.
			id := strconv.FormatInt(old.ID, 10)
			confirm := br2.get(h.public.URL+idp.PathAccountRemove+"?card="+id).must(t, 200, "Rimuovere la tessera?", old.CardID)
			if strings.Contains(confirm.body, "la sessione sarà chiusa") {
				t.Fatal("the confirm step of another card says the session ends")
			}
			resp := br2.postNoFollow(t, h.public.URL+idp.PathAccountRemove, url.Values{"csrf": {confirm.csrf(t)}, "card": {id}}, h.public.URL)
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != h.public.URL+idp.PathAccount+"?removed=1" {
				t.Fatalf("removal answered %s to %q", resp.Status, loc)
			}
			br2.get(h.public.URL+idp.PathAccount+"?removed=1").must(t, 200, "La tessera è stata rimossa.", `data-card="`+id+`" data-status="revoked"`, "Revocata")
			if regs, _ := h.reg.List(ctx, registry.ListFilter{FiscalCode: accountCF, Status: registry.StatusRevoked}); len(regs) != 1 || regs[0].ID != old.ID {
				t.Fatalf("revoked registrations %+v", regs)
			}
			if removed, _ := h.reg.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindCardRemoved, FiscalCode: accountCF}); len(removed) != 1 || removed[0].CardSerial != old.Serial {
				t.Fatalf("card_removed audit events %+v", removed)
			}

			accountHistory(t, h, br2)

			// "Revoca il consenso": every session ends, the card is offered
			// registration again, and the record keeps the withdrawal.
			confirm = br2.get(h.public.URL+idp.PathAccountWithdraw).must(t, 200, "Revocare il consenso?")
			br2.post(h.public.URL+idp.PathAccountWithdraw, url.Values{"csrf": {confirm.csrf(t)}}, h.public.URL).
				must(t, 200, "Consenso revocato", "Per accedere di nuovo registra la tessera")
			if br2.cookie() != nil {
				t.Fatal("session cookie not cleared after the withdrawal")
			}
			if n := countOf(h.notified, idp.CauseConsentWithdrawn); n != 1 {
				t.Fatalf("sessions ended for consent_withdrawn: %d (%v)", n, h.notified)
			}
			cs, _ = h.reg.Consents(ctx, accountCF)
			// One consent per registration (the replacement card gave its own).
			if len(cs) != 2 || !cs[0].Withdrawn() || !cs[1].Withdrawn() || cs[1].WithdrawnChannel != registry.ChannelWeb {
				t.Fatalf("consent after the withdrawal %+v", cs)
			}
			if ev, _ := h.reg.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindConsentWithdrawn, FiscalCode: accountCF}); len(ev) != 1 {
				t.Fatalf("consent_withdrawn audit events %+v", ev)
			}
			for action, want := range map[string]int{idp.AccountActionRefused: 6, idp.AccountActionRemoveCard: 1,
				idp.AccountActionHistoryCSV: 1, idp.AccountActionWithdrawConsent: 1} {
				if n := rec.count(action); n != want {
					t.Errorf("account action %s counted %d times, want %d", action, n, want)
				}
			}
			br2.get(h.public.URL+idp.PathAccount).must(t, 200, "Accedi con TS/CNS")
			h.register(br2)
			h.login(br2)
			if cs, _ = h.reg.Consents(ctx, accountCF); len(cs) != 3 || cs[2].Withdrawn() {
				t.Fatalf("consents after registering again %+v", cs)
			}
		})
	}
}

func countOf(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

// accountRefusals: forms without their token or from another origin, and
// another citizen's card, are refused and change nothing.
func accountRefusals(t *testing.T, h *harness, br *browser, cardID int64) {
	t.Helper()
	id := strconv.FormatInt(cardID, 10)
	pub := h.public.URL
	br.post(pub+idp.PathAccountRemove, url.Values{"card": {id}}, pub).must(t, http.StatusForbidden)
	confirm := br.get(pub+idp.PathAccountRemove+"?card="+id).must(t, 200)
	br.post(pub+idp.PathAccountRemove, url.Values{"csrf": {confirm.csrf(t)}, "card": {id}}, "https://evil.example").must(t, http.StatusForbidden)
	// A token for one card does not remove another.
	confirm = br.get(pub+idp.PathAccountRemove+"?card="+id).must(t, 200)
	br.post(pub+idp.PathAccountRemove, url.Values{"csrf": {confirm.csrf(t)}, "card": {strconv.FormatInt(cardID+1, 10)}}, pub).must(t, http.StatusForbidden)
	br.post(pub+idp.PathAccountWithdraw, url.Values{"csrf": {confirm.csrf(t)}}, pub).must(t, http.StatusForbidden)

	other := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "BNCMRA80A41H501E", GivenName: "MARIA", FamilyName: "BIANCHI"})
	h.preRegister(other)
	regs, _ := h.reg.List(context.Background(), registry.ListFilter{FiscalCode: "BNCMRA80A41H501E"})
	br.get(pub+idp.PathAccountRemove+"?card="+strconv.FormatInt(regs[0].ID, 10)).must(t, http.StatusNotFound, "non è tra quelle registrate a tuo nome")
	br.get(pub+idp.PathAccountRemove+"?card=x").must(t, http.StatusNotFound)
	if regs, _ := h.reg.List(context.Background(), registry.ListFilter{Status: registry.StatusRevoked}); len(regs) != 0 {
		t.Fatalf("a refused form revoked %+v", regs)
	}
	// Without a session: to the login page.
	h.browser(nil).get(pub+idp.PathAccount).must(t, 200, "Accedi con TS/CNS")
}

// accountHistory: 25 more events page 20 at a time; the CSV holds them
// all with its headers (the two cards' registrations, the two refused
// submissions of the first, the two logins, the removal), and a cell that
// would be a formula is neutralised.
func accountHistory(t *testing.T, h *harness, br *browser) {
	t.Helper()
	ctx := context.Background()
	evil := "=HYPERLINK(\"https://evil.example\",\"x\")"
	for i := range 25 {
		client := "svc" + strconv.Itoa(i)
		if i == 0 {
			client = evil
		}
		h.svc.Audit(ctx, registry.Event{Kind: registry.KindTokenIssued, Outcome: registry.OutcomeSuccess, FiscalCode: accountCF, Client: client})
	}
	var all []registry.Event
	deadline := time.Now().Add(10 * time.Second)
	for {
		all, _ = h.reg.QueryAudit(ctx, registry.AuditQuery{FiscalCode: accountCF, Kind: registry.KindTokenIssued})
		if len(all) == 25 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // the audit writer stores asynchronously
	}
	if len(all) != 25 {
		t.Fatalf("%d token_issued events stored, want 25", len(all))
	}
	p1 := br.get(h.public.URL+idp.PathAccount).must(t, 200, `href="/account?page=2#history"`, "Pagina 1")
	p2 := br.get(h.public.URL+idp.PathAccount+"?page=2").must(t, 200, `href="/account?page=1#history"`, "Pagina 2")
	if n1, n2 := strings.Count(p1.body, "Dati inviati al servizio"), strings.Count(p2.body, "Dati inviati al servizio"); n1 != 20 || n2 != 5 {
		t.Fatalf("history pages hold %d and %d token lines, want 20 and 5", n1, n2)
	}

	resp, err := br.c.Get(h.public.URL + idp.PathAccountCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); resp.StatusCode != 200 ||
		ct != "text/csv; charset=utf-8" || cd != `attachment; filename="storico-accessi.csv"` || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("CSV answered %s, Content-Type %q, Content-Disposition %q", resp.Status, ct, cd)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "Data e ora,Servizio,Attività,Esito,Dettaglio" {
		t.Fatalf("CSV header %q", rows[0])
	}
	kinds := map[string]int{}
	for _, r := range rows[1:] {
		kinds[r[2]]++
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Fatalf("CSV cell %q starts a formula", cell)
			}
		}
		if strings.Contains(r[1], "HYPERLINK") && r[1] != "'"+evil {
			t.Fatalf("CSV cell %q, want %q", r[1], "'"+evil)
		}
	}
	if kinds["Dati inviati al servizio"] != 25 || kinds["Registrazione della tessera"] != 4 || kinds["Rimozione della tessera"] != 1 || kinds["Accesso con la tessera"] != 2 {
		t.Fatalf("CSV rows by activity %v", kinds)
	}
	t.Logf("CSV: %d rows after the header, by activity %v", len(rows)-1, kinds)
}
