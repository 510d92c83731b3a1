package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
)

// TestOperatorOrganisationClaims: with scope roles an operator's tokens and
// userinfo carry organisation_id and organisation_name beside roles; a
// citizen's carry none of them.
func TestOperatorOrganisationClaims(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	citizen := h.citizen()
	code, verifier := h.code(citizen, "esenzioni")
	_, _, id := h.tokens(h.exchange("esenzioni", code, verifier))
	for _, k := range []string{"roles", "organisation_id", "organisation_name"} {
		if v, ok := claimsOf(t, id)[k]; ok {
			t.Errorf("a citizen's ID token has %s: %v", k, v)
		}
	}

	// The test card is a citizen card: AnyCard lets its login carry the roles.
	op := registry.Operator{FiscalCode: citizenCF, Roles: []string{"operatore_asl"}, AnyCard: true,
		Organisation: "120201", OrganisationName: "ASL Roma 1"}
	if err := h.reg.AddOperator(context.Background(), op, "test"); err != nil {
		t.Fatal(err)
	}
	br := h.citizen() // a new login reads the operator entry
	code, verifier = h.code(br, "esenzioni")
	access, _, id := h.tokens(h.exchange("esenzioni", code, verifier))
	c := claimsOf(t, id)
	if c["organisation_id"] != "120201" || c["organisation_name"] != "ASL Roma 1" || c["roles"] == nil {
		t.Fatalf("operator ID token: %v", c)
	}
	status, info := h.userinfoClaims(access)
	if status != http.StatusOK || info["organisation_id"] != "120201" || info["organisation_name"] != "ASL Roma 1" {
		t.Fatalf("userinfo %d: %v", status, info)
	}
	// Without scope roles: no organisation.
	code, verifier = h.codeScope(br, "esenzioni", "openid profile")
	_, _, id = h.tokens(h.exchange("esenzioni", code, verifier))
	if _, ok := claimsOf(t, id)["organisation_id"]; ok {
		t.Errorf("organisation_id without scope roles: %v", claimsOf(t, id))
	}
}

// TestClientAudience: an OIDC client for operators answers a citizen with
// "Accesso non consentito" naming the service, issues no code and audits
// the refusal; the same client serves an operator.
func TestClientAudience(t *testing.T) {
	h := newHarness(t, harnessOptions{services: []idp.ServiceLink{
		{ID: "esenzioni", Name: "Gestione esenzioni ASL", URL: "https://rp.example/", Audience: idp.AudienceOperators, RequiredRoles: []string{"operatore_asl"}},
	}})
	br := h.citizen()
	_, challenge := newVerifier()
	r := br.get(h.authURL("esenzioni", challenge, nil))
	if m := loginLinkRE.FindStringSubmatch(r.body); m != nil {
		r = br.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	if r.status != http.StatusForbidden || r.location != nil || !strings.Contains(r.body, "Accesso non consentito") ||
		!strings.Contains(r.body, "«Gestione esenzioni ASL»") || !strings.Contains(r.body, "riservato agli operatori") {
		t.Fatalf("citizen at an operators' client: %d %v\n%s", r.status, r.location, r.body)
	}
	var evs []registry.Event
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && len(evs) == 0; time.Sleep(20 * time.Millisecond) {
		evs, _ = h.reg.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindAccessDenied})
	}
	if len(evs) != 1 || evs[0].Reason != idp.AccessOperatorsOnly || evs[0].Client != "esenzioni" || evs[0].FiscalCode != citizenCF {
		t.Fatalf("access_denied events: %+v", evs)
	}

	// prompt=none shows no page: the client hears access_denied, and the refusal is audited too.
	if loc := br.authorize(h.authURL("esenzioni", challenge, url.Values{"prompt": {"none"}})); loc.Query().Get("error") != "access_denied" ||
		loc.Query().Get("code") != "" || loc.Query().Get("state") != "st-esenzioni" {
		t.Fatalf("prompt=none for a citizen at an operators' client: %s", loc)
	}
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && len(evs) < 2; time.Sleep(20 * time.Millisecond) {
		evs, _ = h.reg.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindAccessDenied})
	}
	if len(evs) != 2 {
		t.Fatalf("%d access_denied events after prompt=none, want 2", len(evs))
	}

	// An operator without the required role is refused too, with the role named as the reason.
	if err := h.reg.AddOperator(context.Background(), registry.Operator{FiscalCode: citizenCF, Roles: []string{"farmacista"}, AnyCard: true}, "test"); err != nil {
		t.Fatal(err)
	}
	br = h.citizen()
	r = br.get(h.authURL("esenzioni", challenge, nil))
	if m := loginLinkRE.FindStringSubmatch(r.body); m != nil {
		r = br.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "richiede un ruolo") {
		t.Fatalf("operator without the role: %d\n%s", r.status, r.body)
	}
	if err := h.reg.UpdateOperator(context.Background(), registry.Operator{FiscalCode: citizenCF, Roles: []string{"operatore_asl"}, AnyCard: true}, "test"); err != nil {
		t.Fatal(err)
	}
	h.code(h.citizen(), "esenzioni") // the operator with the role gets a code
}

// userinfoClaims calls /userinfo with an access token.
func (h *harness) userinfoClaims(token string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.public.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := h.httpClient().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// codeScope is code with the scopes asked.
func (h *harness) codeScope(b *browser, client, scope string) (code, verifier string) {
	h.t.Helper()
	verifier, challenge := newVerifier()
	loc := b.authorize(h.authURL(client, challenge, url.Values{"scope": {scope}}))
	if loc.Query().Get("code") == "" {
		h.t.Fatalf("no code: %s", loc)
	}
	return loc.Query().Get("code"), verifier
}
