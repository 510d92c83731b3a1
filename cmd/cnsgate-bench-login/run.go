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
	name  string
	pid   int
	op    func(w *worker) error
	t     *target // nil for the baseline
	total result
}

// worker is one client's connections: kept alive to the public origin (a
// browser's), new for every card or baseline request.
type worker struct {
	public, fresh *http.Client
}

func run(o options) error {
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "cnsgate-bench-login-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	base := demo.Ports{Public: freeAddr(), CNS: freeAddr(), Admin: freeAddr(), Esenzioni: freeAddr()}
	setup, err := demo.Prepare(filepath.Join(dir, "demo"), base, time.Now())
	if err != nil {
		return err
	}
	baseYAML, err := os.ReadFile(setup.ConfigFile)
	if err != nil {
		return err
	}
	caAddr, err := serveCA(setup)
	if err != nil {
		return err
	}
	cards, err := mintCards(setup, o.cards)
	if err != nil {
		return fmt.Errorf("cards: %w", err)
	}
	roots, err := loadPool(setup.TLSRootsDir)
	if err != nil {
		return err
	}
	secret, err := os.ReadFile(setup.Esenzioni.SecretFile)
	if err != nil {
		return err
	}

	var loads []*workload
	var children []*child
	defer func() {
		for _, c := range children {
			c.stop()
		}
		for i := range o.targets {
			o.targets[i].dropPostgres(o.pgDSN)
		}
	}()
	for i := range o.targets {
		t := &o.targets[i]
		t.redisDB = 8 + i
		if err := prepareTarget(o, t, setup, base, string(baseYAML), caAddr); err != nil {
			return fmt.Errorf("%s: %w", t.label, err)
		}
		c, err := startPinned(o.serverCPU, t.log, nil, t.bin, "serve", "--config", t.config)
		if err != nil {
			return fmt.Errorf("%s: %w", t.label, err)
		}
		children = append(children, c)
		if err := waitServing(t.admin, c, 60*time.Second); err != nil {
			return fmt.Errorf("%s: %w\n%s", t.label, err, tail(t.log))
		}
		p, err := newRP(t.issuer, setup, strings.TrimSpace(string(secret)), roots)
		if err != nil {
			return fmt.Errorf("%s: %w", t.label, err)
		}
		loads = append(loads, &workload{name: "cnsgate " + t.label, pid: c.pid, t: t,
			op: func(w *worker) error { return p.cardLogin(w.public, w.fresh) }})
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bAddr := freeAddr()
	bc, err := startPinned(o.serverCPU, filepath.Join(dir, "baseline.log"), nil, self, "serve-baseline", bAddr,
		filepath.Join(setup.Dir, "tls", "server.crt"), filepath.Join(setup.Dir, "tls", "server.key"), setup.TrustDir,
		filepath.Join(setup.Dir, "oidc", "signing-es256.pem"))
	if err != nil {
		return err
	}
	children = append(children, bc)
	if err := waitListening(bAddr, 10*time.Second); err != nil {
		return err
	}
	bURL := "https://" + bAddr + "/"
	loads = append(loads, &workload{name: "bare baseline", pid: bc.pid, op: func(w *worker) error { return baselineOp(w.fresh, bURL) }})

	var next atomic.Int64
	newWorker := func() *worker {
		card := &cards[int(next.Add(1))%len(cards)]
		return &worker{public: newTLSClient(roots, nil, false), fresh: newTLSClient(roots, card, true)}
	}
	printMachine(o)
	for _, l := range loads {
		if r := drive(l, o.conc, o.warmup, newWorker); r.ops == 0 {
			return fmt.Errorf("%s: no operation succeeded in the warm-up: %v", l.name, r.errs)
		}
	}
	for round := 1; round <= o.rounds; round++ {
		for _, l := range loads {
			if err := measureRound(o, l, round, newWorker); err != nil {
				return err
			}
		}
	}
	report(o, loads)
	return nil
}

// measureRound drives l for one round and adds it to l's total.
func measureRound(o options, l *workload, round int, newWorker func() *worker) error {
	var xact0 int64
	if l.t != nil && l.t.pgDB != "" {
		time.Sleep(1500 * time.Millisecond) // the statistics of the last round are flushed
		xact0, _ = l.t.pgTransactions(o.pgDSN)
	}
	cpu0, err := cpuOf(l.pid)
	if err != nil {
		return err
	}
	r := drive(l, o.conc, o.duration, newWorker)
	cpu1, err := cpuOf(l.pid)
	if err != nil {
		return err
	}
	r.cpu = cpu1 - cpu0
	if l.t != nil && l.t.pgDB != "" {
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
		verifier: prov.Verifier(&oidc.Config{ClientID: demo.EsenzioniClientID})}, nil
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
	fmt.Printf("c=%d, %d rounds of %s per workload (A, B, A, B), registry %s, sessions %s, %s\n",
		o.conc, o.rounds, o.duration, o.registry, o.sessions, pin)
}

func cpuinfo() []byte {
	raw, _ := os.ReadFile("/proc/cpuinfo")
	return raw
}
