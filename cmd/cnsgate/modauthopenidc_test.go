package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/x509cns"
)

// apacheRP is cnsgate serving an Apache with mod_auth_openidc, configured
// as docs/relying-parties.md says, in front of a small application.
type apacheRP struct {
	s       *testServer
	apache  *apache
	backend *httptest.Server
	hits    atomic.Int64 // requests that reached the application
	card    demo.Card
}

const apacheClientID = "portale"

// startApacheRP starts cnsgate with the client registration of the guide
// and an Apache running the guide's mod_auth_openidc block. extraOIDC is
// added to cnsgate's oidc section, extraApache after the guide's block.
func startApacheRP(t *testing.T, extraOIDC, extraApache string) *apacheRP {
	t.Helper()
	rp := &apacheRP{apache: newApacheDir(t)}
	rp.backend = httptest.NewServer(http.HandlerFunc(rp.application))
	t.Cleanup(rp.backend.Close)

	dir := t.TempDir()
	setup, err := demo.Prepare(dir, demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	var keyErr strings.Builder
	if code := run(context.Background(), []string{"keys", "generate", "--dir", keys}, io.Discard, &keyErr); code != 0 {
		t.Fatalf("keys generate: %s", keyErr.String())
	}
	secret := strings.Repeat("k", 20) + fmt.Sprint(time.Now().UnixNano())
	origin := rp.apache.origin
	cfg, err := os.ReadFile(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg = fmt.Appendf(cfg, `oidc:
  signing_keys: [%q, %q]
  subject_salt: %s
%s  clients:
    - id: %s
      name: "Portale (Apache)"
      secret: %s
      redirect_uris: [%s/protected/redirect_uri]
      post_logout_redirect_uris: [%s/loggedout]
      backchannel_logout_uri: %s/protected/redirect_uri?logout=backchannel
      scopes: [openid, profile, fiscal_number]
`, filepath.Join(keys, "signing-rs256.pem"), filepath.Join(keys, "signing-es256.pem"), strings.Repeat("s", 40),
		extraOIDC, apacheClientID, secret, origin, origin, origin)
	if err := os.WriteFile(setup.ConfigFile, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	// cnsgate's back-channel logout calls Apache, whose certificate is the
	// demo's localhost one.
	caPEM, err := os.ReadFile(setup.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots, err := x509cns.ParseCertificates(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	rp.s = runServerExtras(t, setup, serveExtras{roots: roots})
	rp.card, _ = setup.Card("citizen")

	// Apache's workers read the CA bundle at each call to cnsgate.
	bundle := filepath.Join(rp.apache.dir, "cnsgate-ca.pem")
	if err := os.WriteFile(bundle, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	rp.apache.start(apacheConf{
		defines: map[string]string{
			"CNSGATE_ISSUER": rp.s.cfg.Issuer, "APP_ORIGIN": origin, "CNSGATE_CA_BUNDLE": bundle,
			"OIDC_CLIENT_ID": apacheClientID, "OIDC_CLIENT_SECRET": secret, "OIDC_PASSPHRASE": "passphrase-" + secret,
		},
		modules: []string{"auth_openidc", "proxy", "proxy_http", "headers"},
		body: docSnippet(t, "mod_auth_openidc") + extraApache + fmt.Sprintf(`
# The application behind Apache (test only).
LogLevel warn auth_openidc:info
<Location /protected>
    ProxyPass %[1]s/protected
    RequestHeader set X-Remote-User expr=%%{REMOTE_USER}
</Location>
ProxyPass /loggedout %[1]s/loggedout
`, rp.backend.URL),
	}, filepath.Join(setup.Dir, "tls", "server.crt"), filepath.Join(setup.Dir, "tls", "server.key"))
	return rp
}

// application is the protected application: it answers with the request
// headers Apache gave it, and a logged-out page.
func (rp *apacheRP) application(w http.ResponseWriter, r *http.Request) {
	rp.hits.Add(1)
	switch r.URL.Path {
	case "/protected/whoami":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r.Header)
	case "/loggedout":
		fmt.Fprint(w, "Portale: sei uscito")
	default:
		http.NotFound(w, r)
	}
}

// browser is a citizen's browser holding the demo card: cookies, the demo
// TLS CA, the card presented when the card listener asks.
func (rp *apacheRP) browser(t *testing.T) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(rp.s.setup.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{*loadCard(t, rp.card)}}}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: browserAccept{tr}}
}

// browserAccept sends the Accept header of a browser's navigation:
// mod_auth_openidc answers 401 instead of redirecting to the provider a
// request that does not look like one.
type browserAccept struct{ next http.RoundTripper }

func (b browserAccept) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Accept") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	}
	return b.next.RoundTrip(r)
}

// login opens the protected page with no Apache session: Apache sends the
// browser to cnsgate, whose "Accedi con TS/CNS" leads to the card
// listener; the card logs in and the redirects end back at the page.
// It returns the headers the application received.
func (rp *apacheRP) login(t *testing.T, b *http.Client) http.Header {
	t.Helper()
	gate := fetch(t, b, "GET", rp.apache.origin+"/protected/whoami", nil, "")
	if !strings.HasPrefix(gate.url.String(), rp.s.cfg.Issuer+"/authorize?") {
		t.Fatalf("the protected page led to %s (%d), not cnsgate's /authorize:\n%s", gate.url, gate.code, gate.body)
	}
	mustContain(t, gate, "Accedi con TS/CNS")
	return rp.whoami(t, fetch(t, b, "GET", field(t, hrefLoginRE, gate), nil, ""))
}

// whoami reads the application's answer: the request headers it got.
func (rp *apacheRP) whoami(t *testing.T, p page) http.Header {
	t.Helper()
	if p.url.String() != rp.apache.origin+"/protected/whoami" || p.code != http.StatusOK {
		t.Fatalf("ended at %s (%d), not the application:\n%s\napache:\n%s", p.url, p.code, p.body, rp.apache.errorLog())
	}
	var h http.Header
	if err := json.Unmarshal([]byte(p.body), &h); err != nil {
		t.Fatalf("the application's answer: %v\n%s", err, p.body)
	}
	return h
}

// noRedirect is b without following redirects (same cookies).
func noRedirect(b *http.Client) *http.Client {
	c := *b
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// apacheSession reports whether Apache still holds a session for b: the
// protected page answers instead of redirecting to cnsgate.
func (rp *apacheRP) apacheSession(t *testing.T, b *http.Client) bool {
	t.Helper()
	resp, err := noRedirect(b).Get(rp.apache.origin + "/protected/whoami")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return true
	case resp.StatusCode == http.StatusFound && strings.HasPrefix(resp.Header.Get("Location"), rp.s.cfg.Issuer+"/authorize?"):
		return false
	}
	t.Fatalf("protected page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	return false
}

// metric reads one sample of cnsgate's admin /metrics; 0 when absent.
func (rp *apacheRP) metric(t *testing.T, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + rp.s.b.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

// waitMetric waits up to 10 s for a sample of cnsgate's metrics to reach want.
func (rp *apacheRP) waitMetric(t *testing.T, sample string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for rp.metric(t, sample) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s stays below %v:\n%s\napache:\n%s", sample, want, strings.Join(rp.s.logs.Lines(), "\n"), rp.apache.errorLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestApacheModAuthOpenIDC runs Debian's Apache 2.4 with mod_auth_openidc
// 2.4.12, configured with the block of docs/relying-parties.md, in front of
// an application, against a running cnsgate: a card login through the
// whole redirect chain, the claims Apache hands the application (from the
// ID token and from /userinfo), an RP-initiated logout through Apache's
// ?logout=, then a logout at cnsgate that ends the Apache session over
// the back channel.
func TestApacheModAuthOpenIDC(t *testing.T) {
	rp := startApacheRP(t, "", "")
	b := rp.browser(t)
	pub := rp.s.cfg.Issuer
	fn := "TINIT-" + rp.card.FiscalCode

	h := rp.login(t, b)
	for name, want := range map[string]string{
		"X-Remote-User":            fn,
		"OIDC_CLAIM_fiscal_number": fn,
		"OIDC_CLAIM_given_name":    "MARIO",
		"OIDC_CLAIM_family_name":   "ROSSI",
		"OIDC_CLAIM_acr":           "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
		"OIDC_CLAIM_amr":           "sc,hwk,pin,mfa",
		"OIDC_CLAIM_iss":           pub,
		"OIDC_CLAIM_aud":           apacheClientID,
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"OIDC_CLAIM_sub", "OIDC_CLAIM_sid", "OIDC_CLAIM_card_id", "OIDC_CLAIM_card_type", "OIDC_CLAIM_region",
		"OIDC_CLAIM_auth_time", "OIDC_access_token", "OIDC_access_token_expires", "OIDC_refresh_token"} {
		if h.Get(name) == "" {
			t.Errorf("Apache passed no %s; headers: %v", name, h)
		}
	}
	t.Logf("card_id %s, card_type %s, region %s", h.Get("OIDC_CLAIM_card_id"), h.Get("OIDC_CLAIM_card_type"), h.Get("OIDC_CLAIM_region"))
	// The ID token's claims and /userinfo's answer, each as JSON: the
	// same citizen, the same subject, the card's claims in both.
	var idToken, userinfo map[string]any
	if err := json.Unmarshal([]byte(h.Get("OIDC_id_token_payload")), &idToken); err != nil {
		t.Fatalf("OIDC_id_token_payload %q: %v", h.Get("OIDC_id_token_payload"), err)
	}
	if err := json.Unmarshal([]byte(h.Get("OIDC_userinfo_json")), &userinfo); err != nil {
		t.Fatalf("OIDC_userinfo_json %q (mod_auth_openidc did not call /userinfo?): %v", h.Get("OIDC_userinfo_json"), err)
	}
	for _, c := range []string{"sub", "fiscal_number", "given_name", "family_name", "card_id", "region"} {
		if idToken[c] == nil || fmt.Sprint(userinfo[c]) != fmt.Sprint(idToken[c]) {
			t.Errorf("claim %s: ID token %v, userinfo %v", c, idToken[c], userinfo[c])
		}
	}
	if idToken["sub"] != h.Get("OIDC_CLAIM_sub") || idToken["sid"] != h.Get("OIDC_CLAIM_sid") || idToken["nonce"] == nil {
		t.Errorf("ID token %v against headers %v", idToken, h)
	}
	// A browser cannot plant claims: Apache drops its OIDC_ headers.
	req, _ := http.NewRequest("GET", rp.apache.origin+"/protected/whoami", nil)
	req.Header.Set("OIDC_CLAIM_fiscal_number", "TINIT-VRDNNA90D45L219P")
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := rp.whoami(t, page{url: resp.Request.URL, code: resp.StatusCode, body: string(body)}); got.Get("OIDC_CLAIM_fiscal_number") != fn {
		t.Fatalf("a header of the browser reached the application: %v", got)
	}

	// RP-initiated logout: Apache's ?logout= sends the browser to
	// cnsgate's end_session_endpoint with the ID token of the current
	// session, which ends the session at once (oidc.logout_confirmation:
	// without_valid_hint) and sends it back to the registered page.
	var trail []*url.URL
	follow := *b
	follow.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		trail = append(trail, r.URL)
		return nil
	}
	out := fetch(t, &follow, "GET", rp.apache.origin+"/protected/redirect_uri?logout="+url.QueryEscape(rp.apache.origin+"/loggedout"), nil, "")
	if len(trail) != 2 || !strings.HasPrefix(trail[0].String(), pub+"/logout?") || trail[0].Query().Get("id_token_hint") == "" ||
		trail[0].Query().Get("post_logout_redirect_uri") != rp.apache.origin+"/loggedout" || out.url.String() != rp.apache.origin+"/loggedout" {
		t.Fatalf("Apache's logout went through %v to %s (%d):\n%s", trail, out.url, out.code, out.body)
	}
	mustContain(t, out, "Portale: sei uscito")
	if rp.apacheSession(t, b) {
		t.Fatal("the Apache session outlived the RP-initiated logout")
	}
	mustContain(t, fetch(t, b, "GET", pub+"/", nil, ""), "Accedi con TS/CNS")
	// cnsgate tells every relying party of the session, the one that
	// asked too: Apache answers 200 for a session it no longer has.
	delivered := `cnsgate_logout_notifications_total{kind="oidc_backchannel",result="ok"}`
	rp.waitMetric(t, delivered, 1)

	// Back-channel logout: a new login, then "Esci" on cnsgate's welcome
	// page; cnsgate POSTs the logout token to Apache, which drops the
	// session of that sid.
	h2 := rp.login(t, b)
	if h2.Get("OIDC_CLAIM_sid") == h.Get("OIDC_CLAIM_sid") || h2.Get("OIDC_CLAIM_sub") != h.Get("OIDC_CLAIM_sub") {
		t.Fatalf("second login: sid %q (first %q), sub %q (first %q)", h2.Get("OIDC_CLAIM_sid"), h.Get("OIDC_CLAIM_sid"), h2.Get("OIDC_CLAIM_sub"), h.Get("OIDC_CLAIM_sub"))
	}
	if !rp.apacheSession(t, b) {
		t.Fatal("no Apache session after the second login")
	}
	welcome := fetch(t, b, "GET", pub+"/", nil, "")
	mustContain(t, welcome, "Servizi attivi")
	mustContain(t, fetch(t, b, "POST", pub+"/logout", url.Values{"csrf": {field(t, csrfFieldRE, welcome)}}, pub), "rimuovi la tessera")
	rp.waitMetric(t, delivered, 2)
	if rp.apacheSession(t, b) {
		t.Fatalf("the Apache session outlived the back-channel logout:\n%s", rp.apache.errorLog())
	}
	if failed := rp.metric(t, `cnsgate_logout_notifications_total{kind="oidc_backchannel",result="failed"}`); failed != 0 {
		t.Fatalf("%v back-channel deliveries failed", failed)
	}
}
