package main

import (
	"bufio"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/demo"
)

// refusedAtCMS goes from the CMS's login to cnsgate's card login with the
// named card and returns the page cnsgate answers instead of a SAML
// Response: 403, "Accesso non consentito", naming the CMS.
func (d *runningDemo) refusedAtCMS(t *testing.T, card string) (page, func(method, u string, form url.Values, origin string) page) {
	t.Helper()
	b := d.browser(t, card)
	get := func(method, u string, form url.Values, origin string) page {
		return fetch(t, b, method, u, form, origin)
	}
	gate := get("GET", d.setup.CMS.BaseURL+"/login", nil, "")
	mustContain(t, gate, "Accedi con TS/CNS")
	refused := get("GET", html.UnescapeString(field(t, cardLinkRE, gate)), nil, "")
	if refused.code != http.StatusForbidden || samlFormRE.MatchString(refused.body) || strings.Contains(refused.body, "SAMLResponse") {
		t.Fatalf("%s card at the CMS: %d at %s:\n%s", card, refused.code, refused.url, refused.body)
	}
	mustContain(t, refused, "Accesso non consentito", "«"+html.EscapeString(demo.CMSName)+"»", "riservato agli operatori")
	return refused, get
}

// runCLI runs a cnsgate command as an administrator would and returns its
// standard output.
func runCLI(t *testing.T, cmd func(args []string, stdout, stderr *strings.Builder) int, args ...string) string {
	t.Helper()
	var out, errb strings.Builder
	if code := cmd(args, &out, &errb); code != 0 {
		t.Fatalf("cnsgate %v: exit %d\n%s%s", args, code, out.String(), errb.String())
	}
	return out.String()
}

// TestOperatorsEndToEnd: an administrator changes the demo operator with
// `cnsgate operators` on the registry the running demo uses; the operator
// logs in to the CMS with the operator card and the CMS shows the
// organisation the SAML attributes carried. A citizen's welcome page does
// not list the CMS and a direct attempt is refused by cnsgate, audited and
// counted in cnsgate_access_denied_total.
func TestOperatorsEndToEnd(t *testing.T) {
	d := startDemo(t)
	ops := func(args []string, stdout, stderr *strings.Builder) int {
		return cmdOperators(t.Context(), args, stdout, stderr)
	}
	op, _ := d.setup.Card("operator")
	cfgFile := d.setup.ConfigFile
	runCLI(t, ops, "remove", "--config", cfgFile, op.FiscalCode)
	runCLI(t, ops, "add", "--config", cfgFile, "--roles", "operatore_asl", "--organisation-id", "120201",
		"--organisation-name", "ASL Roma 1", "--valid-from", "2020-01-01", "--actor", "Ufficio personale", op.FiscalCode)
	list := runCLI(t, ops, "list", "--config", cfgFile, "--json")
	if !strings.Contains(list, `"organisation_name":"ASL Roma 1"`) || !strings.Contains(list, `"operator_card_required":true`) {
		t.Fatalf("operators list --json:\n%s", list)
	}

	account, get := d.loginAtCMS(t, "operator")
	mustContain(t, account, "Area operatori", "Laura Bianchi", "<li>operatore_asl</li>",
		`<dd id="organizzazione">ASL Roma 1 (120201)</dd>`)
	mustContain(t, get("GET", d.cfg.Issuer+"/", nil, ""), "Servizi attivi", demo.CMSName,
		`<dd data-card-type="operator">Carta operatore</dd>`, "<dd>ASL Roma 1</dd>")
	// Card types are named the same everywhere: a CIE is "cie", not "regional".
	mustContain(t, fetch(t, d.browser(t, "cie"), "GET", d.cfg.CNSOrigin+"/cns/login", nil, ""),
		`<dd data-card-type="cie">Carta d&#39;Identità Elettronica (CIE)</dd>`)

	// The citizen: the welcome page lists Esenzioni, not the CMS.
	cb := d.browser(t, "citizen")
	welcome := fetch(t, cb, "GET", d.cfg.CNSOrigin+"/cns/login", nil, "")
	mustContain(t, welcome, "Servizi attivi", "Esenzioni da reddito")
	if strings.Contains(welcome.body, demo.CMSName) || strings.Contains(welcome.body, d.setup.CMS.BaseURL) {
		t.Fatalf("the citizen's welcome page lists the CMS:\n%s", welcome.body)
	}
	d.refusedAtCMS(t, "citizen")

	metric := `cnsgate_access_denied_total{client="` + d.setup.CMS.EntityID + `",reason="operators_only"} 1`
	if m := adminGet(t, "http://"+d.cfg.Listen.Admin+"/metrics"); !strings.Contains(m, metric) {
		t.Fatalf("no %s in /metrics:\n%s", metric, grepLines(m, "access_denied"))
	}

	// The audit trail: who changed the operator, and the refusal.
	audit := func(kind string) []map[string]any {
		out := runCLI(t, func(args []string, stdout, stderr *strings.Builder) int {
			return cmdAudit(t.Context(), args, stdout, stderr)
		}, "query", "--config", cfgFile, "--kind", kind)
		var evs []map[string]any
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var e map[string]any
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("audit line %q: %v", sc.Text(), err)
			}
			evs = append(evs, e)
		}
		return evs
	}
	changes := audit("operator_change")
	if len(changes) != 2 || changes[0]["reason"] != "add" || changes[1]["reason"] != "remove" {
		t.Fatalf("operator_change events: %v", changes)
	}
	if det, _ := json.Marshal(changes[0]["detail"]); !strings.Contains(string(det), `as Ufficio personale`) ||
		!strings.Contains(string(det), `"actor":"cli:`) {
		t.Fatalf("the add names no actor: %s", det)
	}
	denied := audit("access_denied")
	if len(denied) != 1 || denied[0]["reason"] != "operators_only" || denied[0]["client"] != d.setup.CMS.EntityID {
		t.Fatalf("access_denied events: %v", denied)
	}
}

func adminGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}
