package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/cnsgate/cnsgate/demo"
)

// workload is one server under load: a cnsgate target or the baseline.
type workload struct {
	name string
	kind string // one of kinds (workloads.go)
	pid  int
	op   func(w *worker) error
	// prepare, when set, readies the workers of a round before its clock
	// and CPU readings start: sessions, tokens, codes.
	prepare func(ws []*worker, d time.Duration) error
	t       *target   // nil for a baseline
	of      *workload // a -hostile workload's normal login on the same server
	base    *workload // the baseline of the same kind; nil for a baseline
	total   result
}

// worker is one client's connections: kept alive to the public origin (a
// browser's), new for every card or baseline request; and what prepare
// gave it.
type worker struct {
	public, fresh *http.Client
	jar           http.CookieJar // the browser's cookies: its session
	tok           tokens         // the session's tokens (userinfo, introspect)
	codes         *codePool      // the round's codes (token)
}

// bench is what a run prepares: the demo, its cards and the servers.
type bench struct {
	o        options
	dir      string
	setup    *demo.Setup
	base     demo.Ports
	baseYAML string
	caAddr   string
	roots    *x509.CertPool
	check    *serverCheck // of every client's connections, on roots
	secret   string
	loads    []*workload
	rps      []*rp // each target's relying party, in the order of o.targets
	basePID  int
	baseCard string // the baseline's card listener, a URL
	// basePublic is the baseline's public listener, a URL without the
	// trailing slash.
	basePublic string
	children   []*child
	hostile    []hostileChain // with -hostile
}

// run measures what o asks and prints it; it returns the workloads with
// their totals.
func run(o options) ([]*workload, error) {
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "cnsgate-bench-login-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	b := &bench{o: o, dir: dir}
	defer b.stop()
	cards, err := b.prepare()
	if err != nil {
		return nil, err
	}
	for i := range o.targets {
		if err := b.startTarget(&o.targets[i], i); err != nil {
			return nil, fmt.Errorf("%s: %w", o.targets[i].label, err)
		}
	}
	if err := b.startBaseline(); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	b.loads = b.workloads()
	var next atomic.Int64
	newWorker := func() *worker {
		card := &cards[int(next.Add(1))%len(cards)]
		return &worker{public: newTLSClient(b.check, nil, false), fresh: newTLSClient(b.check, card, true)}
	}
	printMachine(o)
	for _, l := range b.loads {
		if r, err := drive(l, o.conc, o.warmup, newWorker, nil); err != nil || r.ops == 0 {
			return nil, fmt.Errorf("%s: no operation succeeded in the warm-up: %v %v", l.name, err, r.errs)
		}
	}
	for round := 1; round <= o.rounds; round++ {
		for _, l := range b.loads {
			if err := measureRound(o, l, round, newWorker); err != nil {
				return nil, err
			}
		}
	}
	report(o.conc, b.loads)
	return b.loads, profileTargets(o, b.loads, newWorker)
}

// prepare makes the demo directory, serves its CA and mints the cards.
func (b *bench) prepare() ([]tls.Certificate, error) {
	b.base = demo.Ports{Public: freeAddr(), CNS: freeAddr(), Admin: freeAddr(), Esenzioni: freeAddr()}
	setup, err := demo.Prepare(filepath.Join(b.dir, "demo"), b.base, time.Now())
	if err != nil {
		return nil, err
	}
	b.setup = setup
	raw, err := os.ReadFile(setup.ConfigFile)
	if err != nil {
		return nil, err
	}
	b.baseYAML = string(raw)
	if b.caAddr, err = serveCA(setup); err != nil {
		return nil, err
	}
	cards, err := mintCards(setup, b.o.cards)
	if err != nil {
		return nil, fmt.Errorf("cards: %w", err)
	}
	if b.roots, err = loadPool(setup.TLSRootsDir); err != nil {
		return nil, err
	}
	b.check = newServerCheck(b.roots)
	secret, err := os.ReadFile(setup.Esenzioni.SecretFile)
	if err != nil {
		return nil, err
	}
	b.secret = strings.TrimSpace(string(secret))
	if b.o.hostile {
		if b.hostile, err = hostileChains(setup); err != nil {
			return nil, fmt.Errorf("hostile chains: %w", err)
		}
	}
	return cards, nil
}

// startTarget starts the i-th cnsgate serve and waits until it serves.
func (b *bench) startTarget(t *target, i int) error {
	t.redisDB = 8 + i
	if err := prepareTarget(b.o, t, b.setup, b.base, b.baseYAML, b.caAddr); err != nil {
		return err
	}
	var env []string
	if b.o.cpuProfile != "" {
		env = []string{"CNSGATE_PPROF=1"}
	}
	c, err := startPinned(b.o.serverCPU, t.log, env, t.bin, "serve", "--config", t.config)
	if err != nil {
		return err
	}
	b.children = append(b.children, c)
	if err := waitServing(t.admin, c, 60*time.Second); err != nil {
		return fmt.Errorf("%w\n%s", err, tail(t.log))
	}
	p, err := newRP(t.issuer, b.setup, b.secret, b.roots)
	if err != nil {
		return err
	}
	t.pid = c.pid
	b.rps = append(b.rps, p)
	return nil
}

// workloads are the loads of the run, in the order they are driven: for
// each kind of -workload, every cnsgate (with -hostile, its refusals after
// its logins), then the baseline of that kind.
func (b *bench) workloads() []*workload {
	var out []*workload
	for _, kind := range b.o.kinds {
		base := &workload{name: "bare baseline " + b.o.baselineAlg, kind: kind, pid: b.basePID,
			op: baselineWorkload(kind, b.baseCard, b.basePublic, demo.EsenzioniClientID, b.secret)}
		if kind != kindLogin {
			base.name = "bare " + kind
		}
		for i := range b.o.targets {
			t := &b.o.targets[i]
			l := &workload{name: "cnsgate " + t.label, kind: kind, pid: t.pid, t: t, base: base}
			l.op, l.prepare = targetWorkload(kind, b.rps[i])
			if kind != kindLogin {
				l.name += " " + kind
			}
			out = append(out, l)
			if kind == kindLogin {
				out = append(out, b.hostileWorkloads(t, l, base)...)
			}
		}
		out = append(out, base)
	}
	return out
}

// startBaseline starts this tool as the baseline server.
func (b *bench) startBaseline() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	addr, public, dir := freeAddr(), freeAddr(), b.setup.Dir
	c, err := startPinned(b.o.serverCPU, filepath.Join(b.dir, "baseline.log"), nil, self, "serve-baseline", addr,
		filepath.Join(dir, "tls", "server.crt"), filepath.Join(dir, "tls", "server.key"), b.setup.TrustDir,
		filepath.Join(dir, "oidc", "signing-"+b.o.baselineAlg+".pem"), public, demo.EsenzioniClientID, b.setup.Esenzioni.SecretFile)
	if err != nil {
		return err
	}
	b.children = append(b.children, c)
	for _, a := range []string{addr, public} {
		if err := waitListening(a, 10*time.Second); err != nil {
			return err
		}
	}
	b.basePID, b.baseCard, b.basePublic = c.pid, "https://"+addr+"/", "https://"+public
	return nil
}

// stop ends the servers and drops the PostgreSQL databases.
func (b *bench) stop() {
	for _, c := range b.children {
		c.stop()
	}
	for i := range b.o.targets {
		b.o.targets[i].dropPostgres(b.o.pgDSN)
	}
}

// measureRound drives l for one round and adds it to l's total.
func measureRound(o options, l *workload, round int, newWorker func() *worker) error {
	var xact0 int64
	if l.t != nil && l.t.pgDB != "" && l.prepare == nil { // a preparation's transactions would count
		time.Sleep(1500 * time.Millisecond) // the statistics of the last round are flushed
		xact0, _ = l.t.pgTransactions(o.pgDSN)
	}
	r, err := drive(l, o.conc, o.duration, newWorker, &meter{})
	if err != nil {
		return fmt.Errorf("%s: %w", l.name, err)
	}
	if l.t != nil && l.t.pgDB != "" && l.prepare == nil {
		time.Sleep(1500 * time.Millisecond)
		xact1, _ := l.t.pgTransactions(o.pgDSN)
		r.pgXact = xact1 - xact0
	}
	fmt.Printf("round %d %-22s %s\n", round, l.name, r.line())
	l.total.add(r)
	return nil
}

// newRP is the relying party of a target, with go-oidc's verifier on the
// target's discovery document and /jwks.
func newRP(issuer string, setup *demo.Setup, secret string, roots *x509.CertPool) (*rp, error) {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 10 * time.Second}
	ctx := oidc.ClientContext(context.Background(), hc)
	prov, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	return &rp{issuer: issuer, clientID: demo.EsenzioniClientID, secret: secret, redirect: setup.Esenzioni.RedirectURL,
		verifier: prov.Verifier(&oidc.Config{ClientID: demo.EsenzioniClientID, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256}})}, nil
}

// serveCA serves the demo CA's CRLs and OCSP responder for the servers,
// from the load generator's side.
func serveCA(setup *demo.Setup) (string, error) {
	handlers, err := setup.CAHandlers()
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	for path, h := range handlers {
		mux.Handle(path, h)
	}
	addr := freeAddr()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	go func() { _ = (&http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}).Serve(ln) }()
	return addr, nil
}

func printMachine(o options) {
	host, _ := os.Hostname()
	model := "?"
	if raw := cpuinfo(); raw != nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(line, "model name") {
				_, model, _ = strings.Cut(line, ": ")
				break
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("machine: %s, %s, %d CPUs, load average %s", host, model, strings.Count(string(cpuinfo()), "\nprocessor")+1, load)
	pin := "not pinned"
	if others := os.Getenv("CNSGATE_BENCH_PINNED"); o.serverCPU >= 0 && others != "" {
		pin = fmt.Sprintf("servers on CPU %d, load generator on CPU %s", o.serverCPU, others)
	}
	fmt.Printf("c=%d, %d rounds of %s per workload (A, B, A, B), workloads %s, registry %s, sessions %s, %s\n",
		o.conc, o.rounds, o.duration, strings.Join(o.kinds, ","), o.registry, o.sessions, pin)
}

func cpuinfo() []byte {
	raw, _ := os.ReadFile("/proc/cpuinfo")
	return raw
}
