package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// revokedRig is a demo gateway on a Redis of the test's own, whose demo
// CA's CRL comes from a loopback HTTP server (the CA's key re-signs it on
// every GET, listing what the test revokes), with the Esenzioni relying
// party's back channel listening. start/stop run serve, again on the same
// configuration for a restart.
type revokedRig struct {
	t      *testing.T
	redis  *sessionstest.RedisServer
	setup  *demo.Setup
	cfg    *config.Config
	ca     *cnstest.CA
	crl    *cnstest.CRLServer
	tokens chan string // logout tokens the relying party received
	roots  []*x509.Certificate
	logs   *syncBuffer
	b      bound
	stop   func()
}

func newRevokedRig(t *testing.T, crl cnstest.CRLServerOptions, revocationYAML string) *revokedRig {
	t.Helper()
	r := &revokedRig{t: t, redis: sessionstest.StartRedisServer(t), tokens: make(chan string, 8), logs: &syncBuffer{}}
	ports := demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t), Esenzioni: freeAddr(t)}
	setup, err := demo.Prepare(t.TempDir(), ports, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.setup = setup
	certPEM, err1 := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.crt"))
	keyPEM, err2 := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.key"))
	ca, err3 := cnstest.LoadCA(certPEM, keyPEM)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	r.ca, r.crl = ca, ca.CRLServer(crl)
	crlSrv := httptest.NewServer(r.crl)
	t.Cleanup(crlSrv.Close)

	raw, err := os.ReadFile(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	yml := strings.Replace(string(raw), "sessions:\n  store: memory\n",
		fmt.Sprintf("sessions:\n  store: redis\n  redis:\n    addrs: [%q]\n", r.redis.Addr), 1)
	yml = demoCACRLURL.ReplaceAllString(yml, crlSrv.URL+"/ca.crl")
	yml = strings.Replace(yml, "revocation:\n", "revocation:\n"+revocationYAML, 1)
	if !strings.Contains(yml, "store: redis") || !strings.Contains(yml, crlSrv.URL) {
		t.Fatalf("the demo configuration changed shape; edit this test:\n%s", yml)
	}
	if err := os.WriteFile(setup.ConfigFile, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	if r.cfg, err = config.Load(setup.ConfigFile); err != nil {
		t.Fatal(err)
	}
	r.listenRP(ports.Esenzioni)
	return r
}

// listenRP serves the relying party's back-channel logout endpoint on its
// configured origin.
func (r *revokedRig) listenRP(addr string) {
	t := r.t
	pair, err := tls.LoadX509KeyPair(r.cfg.TLS.CertFile, r.cfg.TLS.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	rp := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == demo.EsenzioniBackchannelLogoutPath {
			r.tokens <- req.PostFormValue("logout_token")
		}
	})}
	go rp.Serve(ln)
	t.Cleanup(func() { rp.Close() })
	rootsPEM, err := os.ReadFile(r.setup.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	if r.roots, err = x509cns.ParseCertificates(rootsPEM); err != nil {
		t.Fatal(err)
	}
}

// start runs serve until stop (or the end of the test).
func (r *revokedRig) start() {
	t := r.t
	t.Helper()
	caHandlers, err := r.setup.CAHandlers()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan bound, 1), make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(r.logs, nil))
	go func() {
		done <- serve(ctx, r.cfg, r.setup.ConfigFile, logger, func(b bound) { ready <- b }, serveExtras{admin: caHandlers, roots: r.roots})
	}()
	select {
	case r.b = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v\n%s", err, r.logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	stopped := false
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop\n%s", r.logs.String())
		}
	}
	t.Cleanup(r.stop)
}

// loginAtRP logs the demo citizen in at the Esenzioni relying party
// through cnsgate (OIDC, PKCE, the card over mTLS): the session in Redis
// has Esenzioni as a participant.
func (r *revokedRig) loginAtRP() {
	r.t.Helper()
	loginAtEsenzioni(r.t, r.setup, r.cfg.Issuer)
}

// citizenSessions counts the demo citizen's sessions in Redis.
func (r *revokedRig) citizenSessions() int {
	t := r.t
	t.Helper()
	b, err := buildSessions(r.cfg.Sessions, r.cfg.Limits)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	card, _ := r.setup.Card("citizen")
	list, err := b.store.ListByFiscalCode(context.Background(), card.FiscalCode)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// revokeCitizen makes the demo CA list the citizen's card in its next CRL.
func (r *revokedRig) revokeCitizen() {
	t := r.t
	t.Helper()
	card, _ := r.setup.Card("citizen")
	leaf, err := x509.ParseCertificate(loadCard(t, card).Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	r.ca.Revoke(leaf.SerialNumber, time.Now().Add(-time.Minute), 1)
}

// wantRevokedEnd waits for the relying party's logout token, then checks
// the session is gone from Redis, audited as ended with cause revoked and
// counted on /metrics.
func (r *revokedRig) wantRevokedEnd(within time.Duration) {
	t := r.t
	t.Helper()
	select {
	case tok := <-r.tokens:
		if strings.Count(tok, ".") != 2 {
			t.Fatalf("logout_token %q is not a JWT", tok)
		}
	case <-time.After(within):
		t.Fatalf("the relying party was not told of the end within %s\n%s", within, r.logs.String())
	}
	if n := r.citizenSessions(); n != 0 {
		t.Fatalf("%d sessions of the revoked card still in Redis", n)
	}
	reg, err := sqlstore.Open(context.Background(), string(r.cfg.Registry.Driver), r.cfg.Registry.DSN.Value())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	card, _ := r.setup.Card("citizen")
	waitFor(t, "the session's end on the audit trail", 10*time.Second, func() bool {
		events, err := reg.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindSessionEnd, FiscalCode: card.FiscalCode})
		if err != nil {
			t.Fatal(err)
		}
		return len(events) == 1 && strings.Contains(string(events[0].Detail), `"cause":"revoked"`)
	})
	if m := scrape(t, r.b.Admin); !strings.Contains(m, `cnsgate_sessions_ended_total{cause="revoked"} 1`) {
		t.Fatalf("/metrics does not count the end:\n%s", m)
	}
}

// TestAttackRevokedWhileRedisHangs: the citizen holds a session (logged in
// at Esenzioni through the running gateway, in a Redis of the test's own)
// when the CA revokes the card. The refreshed CRL, listing it, arrives
// (fetched on the next login of the card, the cached one being past
// nextUpdate and grace) while Redis is frozen with SIGSTOP: ending the
// card's sessions fails then. After SIGCONT it is retried and succeeds:
// the session is gone, the relying party told over its back channel, the
// end audited with cause revoked and counted.
func TestAttackRevokedWhileRedisHangs(t *testing.T) {
	r := newRevokedRig(t, cnstest.CRLServerOptions{Validity: 2 * time.Second}, "  crl_grace: 1s\n")
	r.start()
	r.loginAtRP()
	if n := r.citizenSessions(); n != 1 {
		t.Fatalf("%d sessions after the login, want 1", n)
	}
	fetched := r.crl.Requests()
	staleAt := time.Now().Add(3 * time.Second) // validity + grace of the CRL just cached

	r.revokeCitizen()
	r.redis.Freeze()
	frozen := true
	defer func() {
		if frozen {
			r.redis.Thaw()
		}
	}()
	waitFor(t, "the cached CRL to pass nextUpdate and grace", 10*time.Second, func() bool { return time.Now().After(staleAt) })
	card, _ := r.setup.Card("citizen")
	v, _ := cnsLogin(t, (&testServer{setup: r.setup}).client(t, loadCard(t, card), nil), r.b.CNS)
	if v.Verdict != "rejected" || v.Reason != "revoked" {
		t.Fatalf("/cns/check of the revoked card: %+v", v)
	}
	if r.crl.Requests() == fetched {
		t.Fatal("the refreshed CRL was never fetched")
	}
	waitFor(t, "ending the card's sessions to fail while Redis hangs", 15*time.Second, func() bool {
		return strings.Contains(r.logs.String(), "sessions of revoked cards not ended: will retry")
	})
	select {
	case tok := <-r.tokens:
		t.Fatalf("the relying party was told while Redis hung: %q", tok)
	default:
	}

	r.redis.Thaw()
	frozen = false
	r.wantRevokedEnd(20 * time.Second)
	if !strings.Contains(r.logs.String(), "sessions of revoked cards not ended: done after retries") {
		t.Errorf("no retry success in the log:\n%s", r.logs.String())
	}
}

// TestAttackRevokedWhileDown: the citizen holds a session in Redis when
// cnsgate stops; the CA then publishes a CRL listing the card. When
// cnsgate starts again, its first CRL of the CA (loaded at start) ends the
// old session: the relying party is told, the end audited with cause
// revoked and counted; the card's new login is refused as revoked.
func TestAttackRevokedWhileDown(t *testing.T) {
	r := newRevokedRig(t, cnstest.CRLServerOptions{Validity: time.Hour}, "")
	r.start()
	r.loginAtRP()
	if n := r.citizenSessions(); n != 1 {
		t.Fatalf("%d sessions after the login, want 1", n)
	}
	r.stop()

	r.revokeCitizen()
	r.start()
	r.wantRevokedEnd(20 * time.Second)
	card, _ := r.setup.Card("citizen")
	v, _ := cnsLogin(t, (&testServer{setup: r.setup}).client(t, loadCard(t, card), nil), r.b.CNS)
	if v.Verdict != "rejected" || v.Reason != "revoked" {
		t.Fatalf("/cns/check of the revoked card after the restart: %+v", v)
	}
}
