package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

const testRedirect = "https://esenzioni.example/cb"

// oidcConfig is the YAML of an OIDC provider with the esenzioni client,
// whose back-channel logout goes to backchannel ("" for none).
func oidcConfig(t *testing.T, backchannel string) string {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "signing.pem")
	if code := run(context.Background(), []string{"keys", "generate", "--out", keyFile}, io.Discard, io.Discard); code != 0 {
		t.Fatal("keys generate failed")
	}
	y := "oidc:\n  subject_salt: " + strings.Repeat("s", 40) + "\n  signing_keys: [" + keyFile + "]\n" +
		"  clients:\n    - id: esenzioni\n      secret: a-long-enough-client-secret\n      redirect_uris: [" + testRedirect + "]\n"
	if backchannel != "" {
		y += "      backchannel_logout_uri: " + backchannel + "\n"
	}
	return y
}

// adminToken writes an admin API token file and returns its path and the
// token.
func adminToken(t *testing.T) (string, string) {
	t.Helper()
	tok := strings.Repeat("0123456789abcdef", 3)
	file := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, tok
}

// rpBrowser is a cookie-keeping client presenting card that stops at the
// relying party's redirect_uri.
func (s *testServer) rpBrowser(t *testing.T, card demo.Card) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(s.setup.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{*loadCard(t, card)}}},
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host == "esenzioni.example" {
				return http.ErrUseLastResponse
			}
			return nil
		}}
}

var loginHrefRE = regexp.MustCompile(`href="([^"]*/cns/login\?req=[^"]+)"`)

// oidcLogin takes the browser through /authorize and the card login and
// returns the ID token's claims, as the relying party would read them.
func (s *testServer) oidcLogin(t *testing.T, b *http.Client, scope string) map[string]any {
	t.Helper()
	tok := s.oidcTokens(t, b, scope)
	raw, _ := tok["id_token"].(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q", raw)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// oidcTokens takes the browser through /authorize and the card login,
// redeems the code as client esenzioni and returns the token response.
func (s *testServer) oidcTokens(t *testing.T, b *http.Client, scope string) map[string]any {
	t.Helper()
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {"esenzioni"}, "redirect_uri": {testRedirect}, "scope": {scope},
		"state": {"st"}, "nonce": {"nn"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	gate := fetch(t, b, "GET", s.cfg.Issuer+"/authorize?"+q.Encode(), nil, "")
	resp, err := b.Get(field(t, loginHrefRE, gate))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	code := back.Query().Get("code")
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound || code == "" {
		t.Fatalf("login ended with %d at %s:\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", s.cfg.Issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("esenzioni", "a-long-enough-client-secret")
	resp, err = b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok
}

// adminCall calls the running server's admin API with the Authorization
// header given ("" for none) and returns the status and the JSON answer.
func (s *testServer) adminCall(t *testing.T, method, path, auth, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.b.Admin+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

// auditEvents waits until the registry holds want events of kind for the
// citizen (audit writes are committed in groups) and returns them.
func auditEvents(t *testing.T, s *testServer, kind registry.EventKind, cf string, want int) []registry.Event {
	t.Helper()
	reg, err := sqlstore.Open(context.Background(), string(s.cfg.Registry.Driver), s.cfg.Registry.DSN.Value())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, err := reg.QueryAudit(context.Background(), registry.AuditQuery{Kind: kind, FiscalCode: cf})
		if err == nil && len(events) >= want || time.Now().After(deadline) {
			if err != nil || len(events) != want {
				t.Fatalf("%s audit events: %+v, %v (want %d)", kind, events, err, want)
			}
			return events
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAdminAPIRevokeEndsMemorySession attacks the admin API of a running
// server with no token, a wrong one and another scheme (all 401, logged,
// counted and audited, the citizen's session untouched), then revokes the
// citizen with `cnsgate registrations revoke`, which calls the API: the
// live session in the server's memory store ends with cause admin, the
// OIDC relying party gets its back-channel logout token, and the end is on
// the audit trail and in sessions_ended_total{cause="admin"}.
func TestAdminAPIRevokeEndsMemorySession(t *testing.T) {
	logoutTokens := make(chan string, 4)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logoutTokens <- r.PostFormValue("logout_token")
	}))
	defer rp.Close()
	tokenFile, token := adminToken(t)
	s := startServer(t, func(y string) string {
		return y + oidcConfig(t, rp.URL+"/backchannel") + "admin:\n  token_file: " + tokenFile + "\n"
	})
	citizen, _ := s.setup.Card("citizen")
	cf := citizen.FiscalCode
	b := s.rpBrowser(t, citizen)
	s.oidcLogin(t, b, "openid")
	mustContain(t, fetch(t, b, "GET", s.cfg.Issuer+"/", nil, ""), "Esci")

	revokeBody := `{"fiscal_code":"` + cf + `"}`
	for _, auth := range []string{"", "Bearer " + strings.Repeat("x", len(token)), "Bearer " + token[:len(token)-1], "Basic " + token} {
		code, h, out := s.adminCall(t, "POST", "/admin/registrations/revoke", auth, revokeBody)
		if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer ") || out["error"] != "unauthorized" {
			t.Fatalf("revoke with Authorization %q: %d %v %v", auth, code, h, out)
		}
	}
	if code, _, _ := s.adminCall(t, "GET", "/admin/sessions?fiscal_code="+cf, "", ""); code != http.StatusUnauthorized {
		t.Fatalf("list without a token: %d", code)
	}
	if got := s.metric(t, `cnsgate_admin_requests_total{action="revoke",result="unauthorized"}`); got != 4 {
		t.Fatalf("unauthorized revokes counted: %v", got)
	}
	mustContain(t, fetch(t, b, "GET", s.cfg.Issuer+"/", nil, ""), "Esci")

	code, _, out := s.adminCall(t, "GET", "/admin/sessions?fiscal_code="+strings.ToLower(cf), "Bearer "+token, "")
	list, _ := out["sessions"].([]any)
	if code != 200 || len(list) != 1 || !strings.Contains(toJSON(list), `"client_id":"esenzioni"`) || strings.Contains(toJSON(out), cf) {
		t.Fatalf("sessions: %d %v", code, out)
	}

	var cliOut, cliErr strings.Builder
	if code := run(context.Background(), []string{"registrations", "revoke", "--config", s.setup.ConfigFile, cf}, &cliOut, &cliErr); code != 0 ||
		!strings.Contains(cliOut.String(), "1 card registration(s) revoked; 1 session(s) ended by the running server") {
		t.Fatalf("revoke: exit %d\n%s%s", code, cliOut.String(), cliErr.String())
	}
	select {
	case lt := <-logoutTokens:
		if strings.Count(lt, ".") != 2 {
			t.Fatalf("logout token %q", lt)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the relying party got no back-channel logout token")
	}
	mustContain(t, fetch(t, b, "GET", s.cfg.Issuer+"/", nil, ""), "Accedi con TS/CNS")
	if got := s.metric(t, `cnsgate_sessions_ended_total{cause="admin"}`); got != 1 {
		t.Fatalf("sessions_ended_total{cause=\"admin\"} = %v", got)
	}
	if got := s.metric(t, `cnsgate_admin_requests_total{action="revoke",result="success"}`); got != 1 {
		t.Fatalf("successful revokes counted: %v", got)
	}
	ends := auditEvents(t, s, registry.KindSessionEnd, cf, 1)
	if !strings.Contains(string(ends[0].Detail), `"cause":"admin"`) {
		t.Fatalf("session end: %+v", ends[0])
	}
	calls := auditEvents(t, s, registry.KindAdminRequest, cf, 2)
	if calls[0].Outcome != registry.OutcomeSuccess || !strings.Contains(string(calls[0].Detail), `"action":"revoke"`) ||
		calls[0].RemoteIP != "127.0.0.1" {
		t.Fatalf("admin revoke audited as %+v", calls[0])
	}
	refused := auditEvents(t, s, registry.KindAdminRequest, "", 7)
	if n := countReason(refused, "unauthorized"); n != 5 {
		t.Fatalf("%d refused admin calls audited as unauthorized, want 5: %+v", n, refused)
	}

	// Ending again finds nothing; bad input is a precise 400.
	if code, _, out := s.adminCall(t, "DELETE", "/admin/sessions?fiscal_code="+cf, "Bearer "+token, ""); code != 200 || out["sessions_ended"] != 0.0 {
		t.Fatalf("end sessions: %d %v", code, out)
	}
	for _, bad := range []string{`{"fiscal_code":"RSSMRA85T10A562X"}`, `{"fiscal_code":"` + cf + `","fingerprint":"ab"}`, `{"who":"me"}`, `not json`} {
		if code, _, out := s.adminCall(t, "POST", "/admin/registrations/revoke", "Bearer "+token, bad); code != 400 || out["error"] != "bad_request" {
			t.Fatalf("revoke %s: %d %v", bad, code, out)
		}
	}
}

func countReason(events []registry.Event, reason string) int {
	n := 0
	for _, e := range events {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestAdminAPIOffUnlessConfigured: without admin.token_file the routes do
// not exist, whatever token is sent, and `registrations revoke` works on
// the registry as before.
func TestAdminAPIOffUnlessConfigured(t *testing.T) {
	s := startServer(t, nil)
	if code, _, _ := s.adminCall(t, "POST", "/admin/registrations/revoke", "Bearer anything", `{"fiscal_code":"RSSMRA85T10A562S"}`); code != http.StatusNotFound {
		t.Fatalf("admin API without admin.token_file: %d", code)
	}
}

// TestRevokeWithoutRunningServer: admin.token_file is set but nothing
// listens on the admin address: the command says so and revokes in the
// registry itself.
func TestRevokeWithoutRunningServer(t *testing.T) {
	setup, err := demo.Prepare(t.TempDir(), demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tokenFile, _ := adminToken(t)
	appendFile(t, setup.ConfigFile, "admin:\n  token_file: "+tokenFile+"\n")
	var out, errOut strings.Builder
	citizen, _ := setup.Card("citizen")
	code := run(context.Background(), []string{"registrations", "revoke", "--config", setup.ConfigFile, citizen.FiscalCode}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "no server is running at http://") ||
		!strings.Contains(out.String(), "1 card registration(s) revoked\n") || !strings.Contains(out.String(), "sessions.store: memory") {
		t.Fatalf("revoke: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

// TestOperatorRolesFollowTheOperatorCard logs in through a running server
// as the demo operator, whose fiscal code is in the operator table: with
// the operator card (type 8) the ID token carries the roles; after the same
// person registers a personal TS-CNS (type 6) over the network and logs in
// with it, the ID token has no roles claim.
func TestOperatorRolesFollowTheOperatorCard(t *testing.T) {
	s := startServer(t, func(y string) string { return y + oidcConfig(t, "") })
	operator, _ := s.setup.Card("operator")
	claims := s.oidcLogin(t, s.rpBrowser(t, operator), "openid roles")
	if roles, _ := claims["roles"].([]any); len(roles) != 1 || roles[0] != "operatore_asl" || claims["card_type"] != nil && claims["card_type"] != "operator" {
		t.Fatalf("operator card claims: %v", claims)
	}

	certPEM, _ := os.ReadFile(filepath.Join(s.setup.Dir, "pki", "ca.crt"))
	keyPEM, _ := os.ReadFile(filepath.Join(s.setup.Dir, "pki", "ca.key"))
	ca, err := cnstest.LoadCA(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ca.CardPolicies = []cnstest.Policy{cnstest.CNSPolicy()} // as the demo's cards
	card, err := ca.IssueCard(cnstest.CardOptions{FiscalCode: operator.FiscalCode, GivenName: "LAURA", FamilyName: "BIANCHI", CardType: '6', UniqueKey: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	personal := demo.Card{Name: "personal", FiscalCode: operator.FiscalCode, ChainFile: filepath.Join(dir, "chain.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	os.WriteFile(personal.ChainFile, append(card.CertPEM(), card.ChainPEM()...), 0o600)
	os.WriteFile(personal.KeyFile, card.KeyPEM(), 0o600)
	b := s.rpBrowser(t, personal)
	cns := s.cfg.CNSOrigin
	reg := fetch(t, b, "GET", cns+"/cns/login", nil, "")
	mustContain(t, reg, "Registra TS-CNS")
	mustContain(t, fetch(t, b, "POST", cns+"/cns/register", url.Values{"csrf": {field(t, csrfFieldRE, reg)}, "consent": {"yes"}}, cns),
		"Operazione correttamente eseguita")
	claims = s.oidcLogin(t, b, "openid roles")
	if _, ok := claims["roles"]; ok {
		t.Fatalf("a personal card got the operator roles: %v", claims)
	}
	if claims["aud"] == nil || claims["sub"] == nil {
		t.Fatalf("claims: %v", claims)
	}
	// The withheld roles are counted, and the personal card's login says
	// why on the audit trail; the operator card's login says nothing.
	if got := s.metric(t, `cnsgate_operator_roles_withheld_total{reason="not_operator_card"}`); got != 1 {
		t.Fatalf(`cnsgate_operator_roles_withheld_total{reason="not_operator_card"} = %v, want 1`, got)
	}
	// Three login events: the operator card, the personal card unregistered
	// (refused), then registered.
	logins := auditEvents(t, s, registry.KindLogin, operator.FiscalCode, 3)
	notes, successes := 0, 0
	for _, e := range logins {
		if e.Outcome == registry.OutcomeSuccess {
			successes++
		}
		if strings.Contains(string(e.Detail), "operator roles not granted: not an operator card (card type regional)") {
			notes++
		}
	}
	if successes != 2 || notes != 1 {
		t.Fatalf("%d login events say the roles were withheld, want 1 (the personal card's): %+v", notes, logins)
	}
}

// TestServeLogsHoldNoFiscalCode runs a running server through the
// journeys whose log lines name a citizen: a login with the citizen's card,
// "Esci", the refused cards of the demo and a self-signed card that names
// the citizen in its issuer (unknown_issuer quotes that name). startServer
// captures every line without serve's masking net and fails the test on
// any fiscal code in full; here the refusals must be logged masked.
func TestServeLogsHoldNoFiscalCode(t *testing.T) {
	s := startServer(t, nil)
	citizen, _ := s.setup.Card("citizen")
	b := s.rpBrowser(t, citizen)
	welcome := fetch(t, b, "GET", s.cfg.CNSOrigin+"/cns/login", nil, "")
	mustContain(t, welcome, "Esci")
	mustContain(t, fetch(t, b, "POST", s.cfg.Issuer+"/logout", url.Values{"csrf": {field(t, csrfFieldRE, welcome)}}, s.cfg.Issuer), "rimuovi la tessera")
	for _, name := range []string{"expired", "revoked", "unregistered"} {
		c, _ := s.setup.Card(name)
		if _, resp := cnsLogin(t, s.client(t, loadCard(t, c), nil), s.b.CNS); resp.StatusCode == 200 && name != "unregistered" {
			t.Fatalf("%s card accepted", name)
		}
	}
	key := cnstest.MustKey(2048)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: citizen.FiscalCode + "/6038004550366343.aGFzaA==", Country: []string{"IT"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	self := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	for _, c := range []*tls.Certificate{self, loadCard(t, mustCard(t, s, "expired"))} {
		resp, err := s.client(t, c, nil).Get(s.cfg.CNSOrigin + "/cns/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("refused card: %d", resp.StatusCode)
		}
	}
	all := strings.Join(s.logs.Lines(), "\n")
	for _, want := range []string{"reason=unknown_issuer", "CN=" + x509cns.MaskFiscalCode(citizen.FiscalCode) + "/6038004550366343"} {
		if !strings.Contains(all, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
}

func mustCard(t *testing.T, s *testServer, name string) demo.Card {
	t.Helper()
	c, ok := s.setup.Card(name)
	if !ok {
		t.Fatalf("no demo card %q", name)
	}
	return c
}
