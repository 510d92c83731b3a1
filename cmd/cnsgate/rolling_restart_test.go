package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/sessions/sessionstest"
)

// rollingDrain is shutdown.drain of the replicas: the example's rule,
// fall x inter + timeout check + margin = 2 x 500ms + 500ms + 500ms.
const rollingDrain = 2 * time.Second

// replica is one `cnsgate serve` process.
type replica struct {
	name   string // HAProxy's server name
	addrs  replicaAddrs
	config string
	log    string
	cmd    *exec.Cmd
	exit   chan error
}

// buildCnsgate builds the binary the replicas run (CNSGATE_TEST_BIN names
// one already built, e.g. `make build`'s bin/cnsgate).
func buildCnsgate(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CNSGATE_TEST_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "cnsgate")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build cnsgate: %v\n%s", err, out)
	}
	return bin
}

func (r *replica) start(t *testing.T, bin string) {
	t.Helper()
	logf, err := os.OpenFile(r.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(bin, "serve", "--config", r.config)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("%s: start: %v", r.name, err)
	}
	r.exit = make(chan error, 1)
	go func(cmd *exec.Cmd, exit chan error) { exit <- cmd.Wait(); logf.Close() }(r.cmd, r.exit)
	admin := &http.Client{Timeout: time.Second}
	waitFor(t, r.name+" /readyz", 30*time.Second, func() bool {
		select {
		case err := <-r.exit:
			t.Fatalf("%s exited at start (%v):\n%s", r.name, err, r.logTail())
		default:
		}
		resp, err := admin.Get("http://" + r.addrs.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (r *replica) logTail() string {
	b, _ := os.ReadFile(r.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// loginStats counts the logins of the load, and when and how fast the
// failed ones failed.
type loginStats struct {
	ok, failed  atomic.Int64
	mu          sync.Mutex
	failures    []string
	first, last time.Time     // end of the first and of the last failed login
	slowest     time.Duration // the longest a failed login took to fail
}

func (s *loginStats) fail(began time.Time, err error) {
	s.failed.Add(1)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	s.slowest = max(s.slowest, now.Sub(began))
	if len(s.failures) < 20 {
		s.failures = append(s.failures, fmt.Sprintf("%s after %s: %v", now.Format("15:04:05.000"), now.Sub(began).Round(time.Millisecond), err))
	}
}

// loginLoad is clients citizens logging in through HAProxy without pause.
type loginLoad struct {
	stats *loginStats
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startLoginLoad(t *testing.T, clients int, caFile string, pair *tls.Certificate, issuer, fiscalCode string) *loginLoad {
	l := &loginLoad{stats: &loginStats{}, stop: make(chan struct{})}
	for g := 0; g < clients; g++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tr := citizenTransport(t, caFile, pair)
			defer tr.CloseIdleConnections()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				began := time.Now()
				if err := fullLogin(tr, issuer, fiscalCode); err != nil {
					l.stats.fail(began, err)
				} else {
					l.stats.ok.Add(1)
				}
			}
		}()
	}
	waitFor(t, "the first logins through HAProxy", 10*time.Second, func() bool { return l.stats.ok.Load()+l.stats.failed.Load() >= 8 })
	return l
}

// halt stops the load and waits for the logins in flight.
func (l *loginLoad) halt() {
	close(l.stop)
	l.wg.Wait()
}

// fullLogin is one citizen's login through HAProxy, in a fresh cookie jar:
// /cns/start on the public origin, the card's TLS on the card listener,
// the handoff back to /cns/complete, and the welcome page with the fiscal
// code. Connections are kept alive between logins, as a browser does.
func fullLogin(tr *http.Transport, issuer, fiscalCode string) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: tr, Jar: jar, Timeout: 15 * time.Second}
	resp, err := c.Get(issuer + "/cns/start")
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading %s: %w", resp.Request.URL, err)
	}
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" || !strings.Contains(string(body), fiscalCode) {
		return fmt.Errorf("ended at %s with %d: %.200s", resp.Request.URL, resp.StatusCode, body)
	}
	return nil
}

// TestRollingRestartBehindHAProxy runs three `cnsgate serve` processes
// sharing one Redis and one PostgreSQL behind a real HAProxy running the
// shipped deploy/haproxy/haproxy.cfg (card listener in mode tcp, public one
// in mode http, health checks on /readyz, no redispatch, retries 0), drives
// a steady stream of full card logins and restarts every replica in turn,
// twice: SIGTERM, HAProxy marks it DOWN, the process exits, it is started
// again, /readyz and HAProxy say UP. Not one login may fail. Then, under the
// same load, one replica is SIGKILLed (a crash: no drain): the logins it
// held fail cleanly (an answer from HAProxy or a closed connection, not a
// hang) and failures stop within HAProxy's detection time, fall x inter +
// timeout check, plus a margin for the logins already in flight.
func TestRollingRestartBehindHAProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("three replicas and HAProxy: not in -short")
	}
	bin := buildCnsgate(t)
	redisSrv := sessionstest.StartRedisServer(t)
	dsn := registrytest.PostgresDSN(t)
	dir := t.TempDir()

	front := haproxyFront{public: freeAddr(t), cns: freeAddr(t), publicSource: "127.0.0.1", cnsSource: "127.0.0.2",
		verifyHost: "localhost", sock: filepath.Join(dir, "haproxy.sock")}
	_, pubPort, _ := net.SplitHostPort(front.public)
	_, cnsPort, _ := net.SplitHostPort(front.cns)
	setup, err := demo.Prepare(filepath.Join(dir, "demo"), demo.Ports{Public: "localhost:" + pubPort, CNS: "localhost:" + cnsPort, Admin: freeAddr(t)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	caAddr := serveDemoCA(t, setup)
	base := rollingBaseConfig(t, setup, caAddr, redisSrv.Addr, dsn)

	replicas := make([]*replica, 3)
	addrs := make([]replicaAddrs, len(replicas))
	for i := range replicas {
		a := replicaAddrs{public: freeAddr(t), cns: freeAddr(t), admin: freeAddr(t)}
		r := &replica{name: fmt.Sprintf("cnsgate-%d", i+1), addrs: a,
			config: filepath.Join(dir, fmt.Sprintf("cnsgate-%d.yaml", i+1)), log: filepath.Join(dir, fmt.Sprintf("cnsgate-%d.log", i+1))}
		yml := strings.Replace(base, fmt.Sprintf("listen:\n  public: %q\n", "localhost:"+pubPort),
			fmt.Sprintf("listen:\n  public: %q\n  cns: %q\n  admin: %q\n", a.public, a.cns, a.admin), 1)
		if err := os.WriteFile(r.config, []byte(yml), 0o644); err != nil {
			t.Fatal(err)
		}
		replicas[i], addrs[i] = r, a
	}
	cfg, err := config.Load(replicas[0].config)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.Admin != addrs[0].admin || cfg.Shutdown.Drain.Std() != rollingDrain {
		t.Fatalf("the demo configuration changed shape; edit rollingBaseConfig: listen %+v, drain %s", cfg.Listen, cfg.Shutdown.Drain)
	}
	card, _ := setup.Card("citizen")
	registerCard(t, cfg, dsn, card)
	for _, r := range replicas { // one at a time: the first one migrates the schema
		r.start(t, bin)
		defer func(r *replica) {
			if r.cmd.ProcessState == nil {
				r.cmd.Process.Kill()
				<-r.exit
			}
		}(r)
	}

	pair := loadCard(t, card)
	front.certPEM = filepath.Join(dir, "public.pem")
	writeCertKeyPEM(t, front.certPEM, cfg.TLS.CertFile, cfg.TLS.KeyFile)
	front.caFile = setup.TLSCAFile
	lb := startHAProxy(t, dir, exampleHAProxyConfig(t, front, addrs), front.sock)
	for _, r := range replicas {
		waitServers(t, lb, r.name, "UP")
	}

	load := startLoginLoad(t, 4, setup.TLSCAFile, pair, cfg.Issuer, card.FiscalCode)
	stats := load.stats

	started := time.Now()
	var duringDown int64
	for round := 1; round <= 2; round++ {
		for _, r := range replicas {
			before := stats.ok.Load()
			restartReplica(t, lb, r, bin)
			duringDown += stats.ok.Load() - before
		}
	}
	load.halt()
	elapsed := time.Since(started)

	ok, failed := stats.ok.Load(), stats.failed.Load()
	t.Logf("two rolling restarts of 3 replicas in %s: %d logins, %d failed (%d completed while a replica was restarting)",
		elapsed.Round(100*time.Millisecond), ok+failed, failed, duringDown)
	if failed != 0 {
		t.Errorf("%d of %d logins failed during the rolling restarts:\n%s", failed, ok+failed, strings.Join(stats.failures, "\n"))
		for _, r := range replicas {
			t.Logf("%s log:\n%s", r.name, r.logTail())
		}
		t.Logf("haproxy log:\n%s", lb.logTail())
	}
	if ok < 50 || duringDown < 30 {
		t.Fatalf("only %d logins (%d during the restarts): the test proves nothing", ok, duringDown)
	}
	checkHAProxyCounters(t, lb, replicas)
	checkLoginAudit(t, dsn, ok)

	kill := killUnderLoad(t, lb, replicas[1], bin, func() *loginLoad {
		return startLoginLoad(t, 4, setup.TLSCAFile, pair, cfg.Issuer, card.FiscalCode)
	})
	kill.report(t)
	checkLoginAudit(t, dsn, ok+kill.logins-kill.failed)
}

// restartReplica takes r through one step of a rolling restart.
func restartReplica(t *testing.T, lb *haproxy, r *replica, bin string) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: SIGTERM: %v", r.name, err)
	}
	sent := time.Now()
	waitServers(t, lb, r.name, "DOWN")
	// The drain is meant to outlast HAProxy's checks (inter 500ms, fall 2).
	// The time seen here also holds this test's polling of the stats
	// socket, which a loaded machine delays; what a late DOWN would break
	// is a login, and the caller counts failed logins (none allowed). So
	// a late DOWN is reported, and fails only far past the drain.
	switch d := time.Since(sent); {
	case d >= 2*rollingDrain:
		t.Errorf("HAProxy marked %s DOWN %s after SIGTERM, far past shutdown.drain (%s)", r.name, d, rollingDrain)
	case d >= rollingDrain:
		t.Logf("HAProxy marked %s DOWN %s after SIGTERM, past shutdown.drain (%s): the machine is loaded", r.name, d, rollingDrain)
	}
	select {
	case err := <-r.exit:
		if err != nil {
			t.Fatalf("%s exited with %v after SIGTERM:\n%s", r.name, err, r.logTail())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit after SIGTERM:\n%s", r.name, r.logTail())
	}
	r.start(t, bin)
	waitServers(t, lb, r.name, "UP")
}

// waitServers waits until HAProxy shows server name in both backends with
// status want.
func waitServers(t *testing.T, lb *haproxy, name, want string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("HAProxy to mark %s %s", name, want), 15*time.Second, func() bool {
		return lb.status(t, "cnsgate_public", name) == want && lb.status(t, "cnsgate_cns", name) == want
	})
}

// checkHAProxyCounters: HAProxy itself answered no error, failed no
// connection to a replica and neither retried nor redispatched anything;
// on the public backend (mode http) no exchange with a replica was cut
// short either. On the card backend (mode tcp) HAProxy counts a replica's
// close of a kept-alive connection at shutdown as a server abort, which no
// login noticed: those counts are logged. Every replica took its share.
func checkHAProxyCounters(t *testing.T, lb *haproxy, replicas []*replica) {
	t.Helper()
	st := lb.stats(t)
	strict := map[string][]string{
		"cnsgate_public/BACKEND": {"econ", "eresp", "hrsp_5xx", "srv_abrt", "wretr", "wredis"},
		"cnsgate_cns/BACKEND":    {"econ", "wretr", "wredis"},
	}
	for key, counters := range strict {
		for _, counter := range counters {
			if v := st[key][counter]; v != "" && v != "0" {
				t.Errorf("HAProxy %s %s = %s, want 0", key, counter, v)
			}
		}
	}
	t.Logf("HAProxy card backend: %s sessions, eresp %s, srv_abrt %s, cli_abrt %s",
		st["cnsgate_cns/BACKEND"]["stot"], st["cnsgate_cns/BACKEND"]["eresp"], st["cnsgate_cns/BACKEND"]["srv_abrt"], st["cnsgate_cns/BACKEND"]["cli_abrt"])
	for _, r := range replicas {
		for _, b := range []string{"cnsgate_cns", "cnsgate_public"} {
			if v := st[b+"/"+r.name]["stot"]; v == "" || v == "0" {
				t.Errorf("HAProxy sent no connection of %s to %s", b, r.name)
			}
		}
	}
}

// checkLoginAudit: every login the load saw succeed has its audit row, read
// back from the registry the replicas share (the last replica stopped
// writes its last rows while it drains).
func checkLoginAudit(t *testing.T, dsn string, want int64) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.DriverPostgres, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got int
	waitFor(t, "the audit rows of the logins", 10*time.Second, func() bool {
		events, err := db.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess})
		if err != nil {
			t.Fatal(err)
		}
		got = len(events)
		return int64(got) >= want
	})
}

// citizenTransport is a browser's connection pool with the citizen's card.
func citizenTransport(t *testing.T, caFile string, card *tls.Certificate) *http.Transport {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Error(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{*card}},
		MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second}
}

// rollingBaseConfig turns the demo configuration into the replicas' one:
// Redis and PostgreSQL shared, the demo CA served by the test, a drain as
// the HAProxy example asks, the login-start rate of one busy client, and a
// registry timeout for the shared test PostgreSQL of a loaded CI machine:
// what this test counts is the logins a restart loses, not a slow database
// (TestRegistryHangGivesCleanUnavailable is about that).
func rollingBaseConfig(t *testing.T, setup *demo.Setup, caAddr, redisAddr, dsn string) string {
	t.Helper()
	raw, err := os.ReadFile(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	yml := string(raw)
	for _, r := range []struct{ old, new string }{
		{"sessions:\n  store: memory\n", fmt.Sprintf("sessions:\n  store: redis\n  redis:\n    addrs: [%q]\n", redisAddr)},
		{"registry:\n  driver: sqlite\n  dsn: " + filepath.Join(setup.Dir, "cnsgate.db") + "\n", fmt.Sprintf("registry:\n  driver: postgres\n  dsn: %q\n  timeout: 10s\n", dsn)},
		{"shutdown:\n  drain: 0s\n", fmt.Sprintf("shutdown:\n  drain: %s\n  timeout: 15s\nlimits:\n  pending_per_ip_rate: 100000\n  pending_per_ip_burst: 10000\n", rollingDrain)},
		{"log:\n  format: text\n", "log:\n  format: text\n  level: warn\n"},
	} {
		if !strings.Contains(yml, r.old) {
			t.Fatalf("the demo configuration changed shape (no %q); edit this test:\n%s", r.old, yml)
		}
		yml = strings.Replace(yml, r.old, r.new, 1)
	}
	// The listen block is the replica's own; the CRLs and OCSP are the test's.
	cfg, err := config.Load(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	yml = strings.Replace(yml, fmt.Sprintf("  cns: %q\n  admin: %q\n", cfg.Listen.CNS, cfg.Listen.Admin), "", 1)
	yml = strings.ReplaceAll(yml, "http://"+cfg.Listen.Admin+"/", "http://"+caAddr+"/")
	// cnsgate believes X-Forwarded-For from the public backend's source only.
	return yml + "proxy:\n  trusted_cidrs: [\"127.0.0.1/32\"]\n  header: rfc9440\n"
}

// serveDemoCA serves the demo CA's CRLs and OCSP responder on loopback for
// the replicas, which do not serve them themselves.
func serveDemoCA(t *testing.T, setup *demo.Setup) string {
	t.Helper()
	handlers, err := setup.CAHandlers()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for path, h := range handlers {
		mux.Handle(path, h)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// writeCertKeyPEM writes the certificate and its key in one file, as
// HAProxy's crt wants them.
func writeCertKeyPEM(t *testing.T, out, certFile, keyFile string) {
	t.Helper()
	c, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	k, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, append(append(c, '\n'), k...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// HAProxy's health checks in deploy/haproxy/haproxy.cfg: inter 500ms,
// fall 2, timeout check 500ms. A replica that dies is out of both backends
// within killDetect; killWindow adds a margin for the logins already in
// flight and for a loaded CI machine.
const (
	killDetect = 2*500*time.Millisecond + 500*time.Millisecond
	killWindow = killDetect + time.Second
)

// killResult is what a SIGKILLed replica cost the logins under load.
type killResult struct {
	logins, failed  int64
	detected        time.Duration // SIGKILL → HAProxy shows the replica DOWN
	firstFail       time.Duration // SIGKILL → the first failed login ended
	lastFail        time.Duration // SIGKILL → the last failed login ended
	slowest         time.Duration // the longest a failed login took
	downLogins      int64         // logins that succeeded while the replica was dead
	afterRestartOK  int64         // logins after it came back
	failures        []string
	afterRestartBad int64
}

// killUnderLoad SIGKILLs victim while citizens log in, keeps it dead for
// three seconds, starts it again and waits until HAProxy sends it traffic.
func killUnderLoad(t *testing.T, lb *haproxy, victim *replica, bin string, start func() *loginLoad) killResult {
	t.Helper()
	load := start()
	time.Sleep(time.Second)
	before := load.stats.ok.Load()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatalf("%s: SIGKILL: %v", victim.name, err)
	}
	killed := time.Now()
	<-victim.exit
	waitServers(t, lb, victim.name, "DOWN")
	res := killResult{detected: time.Since(killed)}
	time.Sleep(3 * time.Second)
	res.downLogins = load.stats.ok.Load() - before
	victim.start(t, bin)
	waitServers(t, lb, victim.name, "UP")
	okBack, badBack := load.stats.ok.Load(), load.stats.failed.Load()
	time.Sleep(time.Second)
	load.halt()

	st := load.stats
	res.logins, res.failed = st.ok.Load()+st.failed.Load(), st.failed.Load()
	res.afterRestartOK, res.afterRestartBad = st.ok.Load()-okBack, st.failed.Load()-badBack
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.first.IsZero() {
		res.firstFail, res.lastFail = st.first.Sub(killed), st.last.Sub(killed)
	}
	res.slowest, res.failures = st.slowest, append([]string(nil), st.failures...)
	return res
}

// report logs the figures and fails the test when a failure was not clean
// or came after HAProxy had had time to take the dead replica out.
func (k killResult) report(t *testing.T) {
	t.Helper()
	t.Logf("SIGKILL of one of 3 replicas under load: %d logins, %d failed; HAProxy DOWN after %s; failures ended %s..%s after the kill, the slowest took %s; %d logins while it was dead, %d after it came back",
		k.logins, k.failed, k.detected.Round(time.Millisecond), k.firstFail.Round(time.Millisecond), k.lastFail.Round(time.Millisecond),
		k.slowest.Round(time.Millisecond), k.downLogins, k.afterRestartOK)
	for _, f := range k.failures {
		t.Logf("failed login: %s", f)
		if strings.Contains(f, "Timeout exceeded") || strings.Contains(f, "deadline exceeded") {
			t.Errorf("a login hung until its timeout instead of failing cleanly: %s", f)
		}
	}
	if k.detected > killWindow {
		t.Errorf("HAProxy took %s to mark the dead replica DOWN, more than fall x inter + timeout check + margin (%s)", k.detected, killWindow)
	}
	if k.failed > 0 && k.lastFail > killWindow {
		t.Errorf("logins still failed %s after the kill, beyond HAProxy's detection time (%s + margin = %s)", k.lastFail, killDetect, killWindow)
	}
	if k.slowest > 5*time.Second {
		t.Errorf("a failed login took %s to fail: not a clean failure", k.slowest)
	}
	if k.afterRestartBad != 0 {
		t.Errorf("%d logins failed after the killed replica came back", k.afterRestartBad)
	}
	if k.downLogins < 20 || k.afterRestartOK < 5 {
		t.Errorf("only %d logins while the replica was dead and %d after: the other replicas did not carry the load", k.downLogins, k.afterRestartOK)
	}
}
