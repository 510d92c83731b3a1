package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// TestRevokeTellsTheRelyingParties: `registrations revoke` ends the
// citizen's sessions in Redis through the login service, so the OIDC
// client that took part gets its logout token and the SAML SP its signed
// LogoutRequest (SOAP, reason admin) before the command exits, and the end
// and both deliveries are on the audit trail.
func TestRevokeTellsTheRelyingParties(t *testing.T) {
	redisAddr := sessionstest.RedisAddr(t)
	var mu sync.Mutex
	var tokens []string
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		tokens = append(tokens, r.PostFormValue("logout_token"))
	}))
	defer rp.Close()
	sp := newSOAPSP(t)

	setup, err := demo.Prepare(t.TempDir(), demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "signing.pem")
	if code := run(context.Background(), []string{"keys", "generate", "--out", keyFile}, io.Discard, io.Discard); code != 0 {
		t.Fatal("keys generate failed")
	}
	appendFile(t, setup.ConfigFile, "oidc:\n  subject_salt: "+strings.Repeat("s", 40)+"\n  signing_keys: ["+keyFile+"]\n"+
		"  clients:\n    - id: esenzioni\n      secret: a-long-enough-client-secret\n      redirect_uris: [https://esenzioni.example/cb]\n"+
		"      backchannel_logout_uri: "+rp.URL+"/backchannel\n"+sp.config(t))
	t.Setenv("CNSGATE_SESSIONS_STORE", "redis")
	t.Setenv("CNSGATE_SESSIONS_REDIS_ADDRS", redisAddr)

	// A live session of the demo citizen in which esenzioni took part.
	cfg, err := config.Load(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	backend, err := buildSessions(cfg.Sessions, cfg.Limits)
	if err != nil {
		t.Fatal(err)
	}
	defer backend.close()
	const cf = "RSSMRA85T10A562S"
	ctx := context.Background()
	_, _ = backend.store.DeleteByFiscalCode(ctx, cf) // from an earlier run
	id, err := backend.store.Create(ctx, &sessions.Session{FiscalCode: cf, CardFingerprint: strings.Repeat("cd", 32)}, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range []sessions.Participant{
		{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni", SID: "sid-1"},
		{Protocol: sessions.ProtocolSAML, ClientID: sp.entityID, SID: "idx-1", NameID: "name-id-1"},
	} {
		if err := backend.store.AddParticipant(ctx, id, pt); err != nil {
			t.Fatal(err)
		}
	}

	var out, errOut strings.Builder
	if code := run(ctx, []string{"registrations", "revoke", "--config", setup.ConfigFile, cf}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "1 session(s) ended") {
		t.Fatalf("revoke: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	// The command has drained its deliveries: no waiting here.
	mu.Lock()
	got := append([]string(nil), tokens...)
	mu.Unlock()
	if len(got) != 1 || strings.Count(got[0], ".") != 2 {
		t.Fatalf("logout tokens received: %q", got)
	}
	if lrs := sp.received(); len(lrs) != 1 || !strings.Contains(lrs[0], `Reason="urn:oasis:names:tc:SAML:2.0:logout:admin"`) ||
		!strings.Contains(lrs[0], "name-id-1") || !strings.Contains(lrs[0], "idx-1") || !strings.Contains(lrs[0], "SignatureValue") {
		t.Fatalf("LogoutRequests received: %q", lrs)
	}
	if _, err := backend.store.Get(ctx, id); err == nil {
		t.Fatal("the session is still live")
	}

	reg, err := sqlstore.Open(ctx, string(cfg.Registry.Driver), cfg.Registry.DSN.Value())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ends, err := reg.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindSessionEnd, FiscalCode: cf})
	if err != nil || len(ends) != 1 || ends[0].Outcome != registry.OutcomeSuccess || !strings.Contains(string(ends[0].Detail), `"cause":"admin"`) {
		t.Fatalf("session_end audit events: %+v, %v", ends, err)
	}
	notes, err := reg.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindLogoutNotification, FiscalCode: cf})
	told := map[string]bool{}
	for _, e := range notes {
		if e.Outcome == registry.OutcomeSuccess && strings.Contains(string(e.Detail), `"attempts":1`) {
			told[e.Client] = true
		}
	}
	if err != nil || len(notes) != 2 || !told["esenzioni"] || !told[sp.entityID] {
		t.Fatalf("logout_notification audit events: %+v, %v", notes, err)
	}
}

// soapSP is a SAML service provider on loopback with only a SOAP
// SingleLogoutService: it keeps each LogoutRequest and answers Success.
type soapSP struct {
	srv      *httptest.Server
	entityID string
	mu       sync.Mutex
	requests []string
}

func newSOAPSP(t *testing.T) *soapSP {
	sp := &soapSP{}
	sp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := regexp.MustCompile(`<samlp:LogoutRequest[^>]* ID="([^"]+)"`).FindSubmatch(body)
		if m == nil {
			http.Error(w, "no LogoutRequest", http.StatusBadRequest)
			return
		}
		sp.mu.Lock()
		sp.requests = append(sp.requests, string(body))
		sp.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<soap11:Envelope xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body>`+
			`<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" `+
			`ID="_r1" Version="2.0" IssueInstant="`+time.Now().UTC().Format(time.RFC3339)+`" InResponseTo="`+string(m[1])+`">`+
			`<saml:Issuer>`+sp.entityID+`</saml:Issuer>`+
			`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>`+
			`</samlp:LogoutResponse></soap11:Body></soap11:Envelope>`)
	}))
	t.Cleanup(sp.srv.Close)
	sp.entityID = sp.srv.URL + "/sp"
	return sp
}

// config writes the SP's metadata and the IdP's key and certificate, and
// returns the saml section that registers the SP.
func (sp *soapSP) config(t *testing.T) string {
	dir := t.TempDir()
	md := `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + sp.entityID + `">` +
		`<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="` + sp.srv.URL + `/slo"/>` +
		`<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + sp.srv.URL + `/acs" index="0"/>` +
		`</SPSSODescriptor></EntityDescriptor>`
	mdFile := filepath.Join(dir, "sp-metadata.xml")
	if err := os.WriteFile(mdFile, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := writeSAMLKeyPair(t, dir)
	return "saml:\n  cert_file: " + certFile + "\n  key_file: " + keyFile + "\n  name_id_salt: " + strings.Repeat("n", 40) + "\n" +
		"  service_providers:\n    - entity_id: " + sp.entityID + "\n      metadata_file: " + mdFile + "\n      require_signed_requests: false\n"
}

func (sp *soapSP) received() []string {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return append([]string(nil), sp.requests...)
}

func appendFile(t *testing.T, name, text string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
