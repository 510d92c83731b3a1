package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
	"github.com/cnsgate/cnsgate/x509cns"
)

// heldReceiver is the relying party's back-channel logout endpoint: it
// records each logout token and holds its answer until released, so that
// a delivery is in flight when the test wants it.
type heldReceiver struct {
	arrived chan string
	release chan struct{}
	mu      sync.Mutex
	done    []string // tokens answered 200
}

func (h *heldReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != demo.EsenzioniBackchannelLogoutPath {
		http.NotFound(w, r)
		return
	}
	tok := r.PostFormValue("logout_token")
	h.arrived <- tok
	<-h.release
	h.mu.Lock()
	h.done = append(h.done, tok)
	h.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestServeShutdownOnSIGTERM runs serve with real Redis and PostgreSQL,
// logs a citizen in to the Esenzioni relying party and out again, and sends
// the process SIGTERM while the back-channel logout token is still being
// delivered. Readiness must turn false first, the listeners must close, the
// delivery must complete and its audit event be stored, and every Redis
// and PostgreSQL connection must be closed before serve returns.
func TestServeShutdownOnSIGTERM(t *testing.T) {
	redisAddr := sessionstest.RedisAddr(t)
	appName := "cnsgate_shutdown_" + randHex(6)
	dsn := registrytest.PostgresDSN(t)
	dsn += map[bool]string{true: "&", false: "?"}[strings.Contains(dsn, "?")] + "application_name=" + appName

	// A Redis user of its own, so that CLIENT LIST tells this gateway's
	// connections from everyone else's.
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	redisUser, redisPass := appName, randHex(16)
	if err := rdb.Do(context.Background(), "ACL", "SETUSER", redisUser, "on", ">"+redisPass, "~*", "&*", "+@all").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	t.Cleanup(func() { rdb.Do(context.Background(), "ACL", "DELUSER", redisUser) })

	dir := t.TempDir()
	ports := demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t), Esenzioni: freeAddr(t)}
	setup, err := demo.Prepare(dir, ports, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	yml := strings.Replace(string(raw), "sessions:\n  store: memory\n", fmt.Sprintf(
		"sessions:\n  store: redis\n  redis:\n    addrs: [%q]\n    username: %s\n    password: %s\n", redisAddr, redisUser, redisPass), 1)
	yml = strings.Replace(yml, "registry:\n  driver: sqlite\n  dsn: "+dir+"/cnsgate.db\n", fmt.Sprintf("registry:\n  driver: postgres\n  dsn: %q\n", dsn), 1)
	yml = strings.Replace(yml, "shutdown:\n  drain: 0s\n", "shutdown:\n  drain: 700ms\n  timeout: 20s\n", 1)
	if !strings.Contains(yml, "store: redis") || !strings.Contains(yml, "driver: postgres") || !strings.Contains(yml, "drain: 700ms") {
		t.Fatalf("the demo configuration changed shape; edit this test:\n%s", yml)
	}
	if err := os.WriteFile(setup.ConfigFile, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}

	// The citizen's card is registered in PostgreSQL.
	card, _ := setup.Card("citizen")
	registerCard(t, cfg, dsn, card)

	// The relying party's back channel, on its configured origin.
	recv := &heldReceiver{arrived: make(chan string, 4), release: make(chan struct{})}
	pair, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	rpLn, err := tls.Listen("tcp", ports.Esenzioni, &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	rp := &http.Server{Handler: recv}
	go rp.Serve(rpLn)
	defer rp.Close()
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(recv.release) }) }
	defer release()

	roots, err := os.ReadFile(setup.TLSCAFile)
	if err != nil {
		t.Fatal(err)
	}
	rootCerts, err := x509cns.ParseCertificates(roots)
	if err != nil {
		t.Fatal(err)
	}
	caHandlers, err := setup.CAHandlers()
	if err != nil {
		t.Fatal(err)
	}
	// SIGTERM reaches serve the way it reaches the command: through a
	// signal context, as main sets it up.
	sigCtx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stopSignals()
	ready := make(chan bound, 1)
	done := make(chan error, 1)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	go func() {
		done <- serve(sigCtx, cfg, setup.ConfigFile, logger, func(b bound) { ready <- b }, serveExtras{admin: caHandlers, roots: rootCerts})
	}()
	var b bound
	select {
	case b = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	admin := &http.Client{Timeout: 2 * time.Second}
	if resp, err := admin.Get("http://" + b.Admin + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %v %v", resp, err)
	}
	if n := redisClients(t, rdb, redisUser); n == 0 {
		t.Fatal("the gateway holds no Redis connection while serving: the check below would prove nothing")
	}
	if n := pgBackends(t, appName); n == 0 {
		t.Fatal("the gateway holds no PostgreSQL connection while serving: the check below would prove nothing")
	}

	// Log in at the relying party and out at cnsgate: the logout token is
	// sent and held by the relying party.
	browser := loginAtEsenzioni(t, setup, cfg.Issuer)
	welcome := fetch(t, browser, "GET", cfg.Issuer+"/", nil, "")
	mustContain(t, welcome, card.FiscalCode)
	mustContain(t, fetch(t, browser, "POST", cfg.Issuer+"/logout", url.Values{"csrf": {field(t, csrfFieldRE, welcome)}}, cfg.Issuer), "rimuovi la tessera")
	var token string
	select {
	case token = <-recv.arrived:
	case <-time.After(15 * time.Second):
		t.Fatalf("no back-channel logout reached the relying party\n%s", logs.String())
	}
	if strings.Count(token, ".") != 2 {
		t.Fatalf("logout_token %q is not a JWT", token)
	}

	// SIGTERM with the delivery in flight.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz to answer 503", 5*time.Second, func() bool {
		resp, err := admin.Get("http://" + b.Admin + "/readyz")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "shutting down")
	})
	waitFor(t, "the public listener to stop accepting", 10*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", b.Public, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	select {
	case err := <-done:
		t.Fatalf("serve returned (%v) with a logout delivery still in flight\n%s", err, logs.String())
	default:
	}
	if n := pgBackends(t, appName); n == 0 {
		t.Fatal("the registry closed before the pending logout delivery was audited")
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop\n%s", logs.String())
	}

	recv.mu.Lock()
	delivered := len(recv.done)
	recv.mu.Unlock()
	if delivered != 1 {
		t.Fatalf("%d logout tokens answered, want 1", delivered)
	}
	// Nothing of the gateway is left connected once serve has returned.
	waitFor(t, "PostgreSQL to see the pool closed", 5*time.Second, func() bool { return pgBackends(t, appName) == 0 })
	waitFor(t, "Redis to see the client closed", 5*time.Second, func() bool { return redisClients(t, rdb, redisUser) == 0 })
	// The delivery's audit event was written before the pool closed.
	db, err := sqlstore.Open(context.Background(), sqlstore.DriverPostgres, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	events, err := db.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindLogoutNotification})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Outcome != registry.OutcomeSuccess || events[0].Client != demo.EsenzioniClientID {
		t.Fatalf("logout notification audit events: %+v", events)
	}
	for _, step := range []string{"listeners", "background", "registry", "sessions"} {
		if !strings.Contains(logs.String(), "msg=\"shutdown step\" step="+step) {
			t.Errorf("no shutdown step %q in the log:\n%s", step, logs.String())
		}
	}
}

// loginAtEsenzioni logs the demo citizen in at the Esenzioni relying party
// through cnsgate (authorization request with PKCE, the card over mTLS),
// stopping at the redirect back to the relying party, and returns the
// browser: its session has Esenzioni as a participant.
func loginAtEsenzioni(t *testing.T, setup *demo.Setup, issuer string) *http.Client {
	t.Helper()
	browser := (&runningDemo{setup: setup}).browser(t, "citizen")
	rpURL, err := url.Parse(setup.Esenzioni.RedirectURL)
	if err != nil {
		t.Fatal(err)
	}
	browser.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == rpURL.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}
	sum := sha256.Sum256([]byte(randHex(32)))
	q := url.Values{"client_id": {demo.EsenzioniClientID}, "redirect_uri": {setup.Esenzioni.RedirectURL},
		"response_type": {"code"}, "scope": {"openid"}, "state": {randHex(8)}, "nonce": {randHex(8)},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	gate := fetch(t, browser, "GET", issuer+"/authorize?"+q.Encode(), nil, "")
	back := fetch(t, browser, "GET", field(t, hrefLoginRE, gate), nil, "")
	if back.code != http.StatusFound && back.code != http.StatusSeeOther {
		t.Fatalf("login did not return to the relying party: %s (%d)\n%s", back.url, back.code, back.body)
	}
	return browser
}

// registerCard stores the registration of a demo card in the database at dsn.
func registerCard(t *testing.T, cfg *config.Config, dsn string, card demo.Card) {
	t.Helper()
	registerCardDriver(t, cfg, sqlstore.DriverPostgres, dsn, card)
}

// registerCardDriver registers the card in the registry of that driver.
func registerCardDriver(t *testing.T, cfg *config.Config, driver, dsn string, card demo.Card) {
	t.Helper()
	leaf, err := x509.ParseCertificate(loadCard(t, card).Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	ts, err := loadTrust(cfg.Trust)
	if err != nil {
		t.Fatal(err)
	}
	issuers := ts.store.IssuersByName(leaf.RawIssuer, leaf.AuthorityKeyId)
	if len(issuers) == 0 {
		t.Fatalf("no issuer of %s in %v", card.ChainFile, cfg.Trust.CADirs)
	}
	id, err := x509cns.ExtractIdentity(leaf, issuers[0])
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := db.Register(context.Background(), registry.Registration{
		FiscalCode: id.FiscalCode, CardID: id.CardID, Issuer: id.Issuer, Serial: id.Serial, Fingerprint: id.Fingerprint,
		GivenName: id.GivenName, FamilyName: id.FamilyName, Region: id.Region, CardType: string(id.CardType),
	}); err != nil {
		t.Fatal(err)
	}
}

// pgBackends counts the PostgreSQL connections of the gateway under test.
func pgBackends(t *testing.T, appName string) int {
	t.Helper()
	base := os.Getenv("CNSGATE_TEST_POSTGRES_DSN")
	if base == "" {
		base = registrytest.DefaultPostgresDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", appName).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// redisClients counts the Redis connections authenticated as user.
func redisClients(t *testing.T, rdb *redis.Client, user string) int {
	t.Helper()
	list, err := rdb.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(" "+line+" ", " user="+user+" ") {
			n++
		}
	}
	return n
}
