package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// TestAdminAPIOperators administers the demo operator through a running
// server's admin API: refused without the token or with a role outside
// operators.roles, replaced with an organisation, listed, imported, added
// twice (409), removed. A login with the operator card then carries the
// organisation in the ID token (scope roles), and every change is on the
// audit trail with the token's identity and the caller's name.
func TestAdminAPIOperators(t *testing.T) {
	tokenFile, token := adminToken(t)
	s := startServer(t, func(y string) string {
		return y + oidcConfig(t, "") + "admin:\n  token_file: " + tokenFile + "\noperators:\n  roles: [operatore_asl, cms_admin]\n"
	})
	operator, _ := s.setup.Card("operator")
	cf := operator.FiscalCode
	bearer := "Bearer " + token
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+s.b.Admin+path, strings.NewReader(body))
		req.Header.Set("Authorization", bearer)
		req.Header.Set("X-Cnsgate-Actor", "Ufficio personale ASL")
		return doJSON(t, req)
	}

	if code, _, out := s.adminCall(t, "GET", "/admin/operators", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("list without a token: %d %v", code, out)
	}
	entry := `{"organisation_id":"120201","organisation_name":"ASL Roma 1","roles":["operatore_asl"],"valid_from":"2020-01-01"}`
	if code, out := call("PUT", "/admin/operators/"+cf, strings.Replace(entry, "operatore_asl", "direttore", 1)); code != http.StatusBadRequest ||
		!strings.Contains(out["detail"].(string), `role "direttore" is not one of the configured operators.roles`) {
		t.Fatalf("a role outside operators.roles: %d %v", code, out)
	}
	if code, out := call("PUT", "/admin/operators/"+cf, `{"roles":["operatore_asl"],"valid_from":"2020-13-01"}`); code != http.StatusBadRequest ||
		!strings.Contains(out["detail"].(string), "valid_from") {
		t.Fatalf("a bad date: %d %v", code, out)
	}
	if code, out := call("PUT", "/admin/operators/"+cf, entry); code != http.StatusOK {
		t.Fatalf("update: %d %v", code, out)
	}
	if code, out := call("POST", "/admin/operators", `{"fiscal_code":"`+cf+`","roles":["operatore_asl"]}`); code != http.StatusConflict {
		t.Fatalf("add of an existing operator: %d %v", code, out)
	}
	code, out := call("GET", "/admin/operators", "")
	if op := operatorOf(out, cf); code != http.StatusOK || op == nil || op["organisation_name"] != "ASL Roma 1" {
		t.Fatalf("list: %d %v", code, out)
	}

	claims := s.oidcLogin(t, s.rpBrowser(t, operator), "openid roles")
	if claims["organisation_id"] != "120201" || claims["organisation_name"] != "ASL Roma 1" {
		t.Fatalf("operator ID token: %v", claims)
	}

	csv := "fiscal_code;organisation_id;organisation_name;roles\n" + cf + ";120202;ASL Roma 2;operatore_asl|cms_admin\n"
	if code, out := call("POST", "/admin/operators/import", csv); code != http.StatusOK || out["updated"] != float64(1) {
		t.Fatalf("import: %d %v", code, out)
	}
	if code, out := call("POST", "/admin/operators/import", "fiscal_code;roles\nRSSMRA85T10A562X;operatore_asl\n"); code != http.StatusBadRequest ||
		!strings.Contains(out["detail"].(string), "line 2") {
		t.Fatalf("import of a bad row: %d %v", code, out)
	}
	if code, out := call("DELETE", "/admin/operators/"+cf, ""); code != http.StatusOK {
		t.Fatalf("remove: %d %v", code, out)
	}
	if code, out := call("DELETE", "/admin/operators/"+cf, ""); code != http.StatusNotFound {
		t.Fatalf("second remove: %d %v", code, out)
	}
	claims = s.oidcLogin(t, s.rpBrowser(t, operator), "openid roles")
	if _, ok := claims["roles"]; ok {
		t.Fatalf("a removed operator still has roles: %v", claims)
	}

	events := auditEvents(t, s, registry.KindOperatorChange, cf, 3) // update, import, remove
	for i, want := range []string{"remove", "import", "update"} {
		if events[i].Reason != want || !strings.Contains(string(events[i].Detail), `"actor":"admin-api:`) ||
			!strings.Contains(string(events[i].Detail), `as Ufficio personale ASL`) || strings.Contains(string(events[i].Detail), token) {
			t.Errorf("event %d: %s %s, want %s by the admin token", i, events[i].Reason, events[i].Detail, want)
		}
	}
	if n := s.metric(t, `cnsgate_admin_requests_total{action="update_operator",result="bad_request"}`); n != 2 {
		t.Errorf("bad update_operator calls counted %v, want 2", n)
	}
}

func doJSON(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// operatorOf is the entry of the operator cf in a /admin/operators answer
// (the demo has the security team's operator too), nil when absent.
func operatorOf(out map[string]any, cf string) map[string]any {
	ops, _ := out["operators"].([]any)
	for _, o := range ops {
		if m, ok := o.(map[string]any); ok && m["fiscal_code"] == cf {
			return m
		}
	}
	return nil
}
