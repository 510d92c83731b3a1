package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
// client that took part gets its logout token before the command exits,
// and the end and the delivery are on the audit trail.
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
		"      backchannel_logout_uri: "+rp.URL+"/backchannel\n")
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
	if err := backend.store.AddParticipant(ctx, id, sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni", SID: "sid-1"}); err != nil {
		t.Fatal(err)
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
	if _, err := backend.store.Get(ctx, id); err == nil {
		t.Fatal("the session is still live")
	}

	reg, err := sqlstore.Open(ctx, string(cfg.Registry.Driver), cfg.Registry.DSN.Value())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	for kind, want := range map[registry.EventKind]string{registry.KindSessionEnd: `"cause":"admin"`, registry.KindLogoutNotification: `"attempts":1`} {
		events, err := reg.QueryAudit(ctx, registry.AuditQuery{Kind: kind, FiscalCode: cf})
		if err != nil || len(events) != 1 || events[0].Outcome != registry.OutcomeSuccess || !strings.Contains(string(events[0].Detail), want) {
			t.Fatalf("%s audit events: %+v, %v", kind, events, err)
		}
	}
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
