package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAdminAPIRevocationStatus reads the state of revocation checking from
// a running server's admin API: every demo CA's CRL loaded at start with
// its age, next update and entries (the CA of the revoked card lists it);
// with OCSP first, the responder's answers after a login.
func TestAdminAPIRevocationStatus(t *testing.T) {
	tokenFile, token := adminToken(t)
	s := startServer(t, func(y string) string {
		return y + "admin:\n  token_file: " + tokenFile + "\nlogin:\n  confirm_release: false\n"
	})
	var out struct {
		CRLs []map[string]any `json:"crls"`
		OCSP []map[string]any `json:"ocsp"`
	}
	code, _, body := auditAPI(t, s, token, "/admin/revocation")
	if err := json.Unmarshal(body, &out); err != nil || code != http.StatusOK || len(out.CRLs) == 0 {
		t.Fatalf("revocation status: %d %s", code, body)
	}
	listed := 0
	for _, c := range out.CRLs {
		if c["loaded"] != true || c["next_update"] == nil || c["age_seconds"].(float64) < 0 || c["last_error"] != nil {
			t.Errorf("CRL state %v", c)
		}
		if c["entries"].(float64) > 0 {
			listed++
		}
	}
	if listed == 0 {
		t.Errorf("no CRL lists the revoked demo card: %s", body)
	}
	t.Logf("%d CRL(s), %d listing entries", len(out.CRLs), listed)
	if code, _, _ := s.adminCall(t, "GET", "/admin/revocation", "", ""); code != http.StatusUnauthorized {
		t.Errorf("revocation status without a token: %d", code)
	}

	o := startServer(t, func(y string) string {
		return strings.Replace(y, "mode: crl_then_ocsp", "mode: ocsp_then_crl", 1) + "admin:\n  token_file: " + tokenFile + "\n"
	})
	citizen, _ := o.setup.Card("citizen")
	loginPage(t, o.client(t, loadCard(t, citizen), nil), o.b.CNS) // asks the responder about the card
	code, _, body = auditAPI(t, o, token, "/admin/revocation")
	if err := json.Unmarshal(body, &out); err != nil || code != http.StatusOK || len(out.OCSP) != 1 ||
		out.OCSP[0]["answers"].(float64) < 1 || !strings.HasPrefix(out.OCSP[0]["responder"].(string), "http://") {
		t.Fatalf("OCSP state after a login: %d %s", code, body)
	}
}
