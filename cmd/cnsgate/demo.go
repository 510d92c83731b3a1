package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/x509cns"
)

// demoFlags are the command line of `cnsgate demo`.
type demoFlags struct {
	dir     string
	ports   demo.Ports
	prepare bool
	// confirmRelease is login.confirm_release in the demo's configuration
	// (the data-release page): true unless --confirm-release=false.
	confirmRelease bool
}

const demoAbout = `Runs a self-contained demo: a generated card PKI with its CRL and OCSP
responder, demo cards (PEM and PKCS#12), localhost TLS, memory sessions, a
SQLite registry, and the example relying parties Esenzioni da reddito
(OpenID Connect) and CMS - Gestione tessere (SAML). The directory is made on
the first run and reused; Ctrl-C (SIGINT) or SIGTERM stops it all.
`

func parseDemoFlags(args []string, stdout, stderr io.Writer) (*demoFlags, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "./cnsgate-demo", "directory holding the demo PKI, keys and database (created on first run)")
	public := fs.String("public", demo.DefaultPorts.Public, "public listener")
	cns := fs.String("cns", demo.DefaultPorts.CNS, "card (mutual TLS) listener")
	admin := fs.String("admin", demo.DefaultPorts.Admin, "admin listener (/metrics /healthz /readyz)")
	esenzioni := fs.String("esenzioni", demo.DefaultPorts.Esenzioni, `the example OIDC relying party "Esenzioni da reddito" ("off": neither registered nor started)`)
	cms := fs.String("cms", demo.DefaultPorts.CMS, `the example SAML service provider "CMS - Gestione tessere" ("off": neither registered nor started)`)
	consoleAddr := fs.String("console", demo.DefaultPorts.Console, `the security team's console, for the "security" card ("off": none; off as well without Esenzioni)`)
	prepare := fs.Bool("prepare", false, "create (or update) the demo directory, print where, and exit")
	release := fs.Bool("confirm-release", true, "list what a service will receive before its first login (login.confirm_release); --confirm-release=false: no such page")
	describe(fs, "cnsgate demo [--dir DIR] [--public|--cns|--admin ADDR] [--esenzioni ADDR|off] [--cms ADDR|off] [--console ADDR|off] [--confirm-release=false] [--prepare]", demoAbout)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		if code == 0 {
			return nil, errHelp
		}
		return nil, errUsage
	}
	f := &demoFlags{dir: *dir, prepare: *prepare, confirmRelease: *release,
		ports: demo.Ports{Public: *public, CNS: *cns, Admin: *admin, Esenzioni: *esenzioni, CMS: *cms, Console: *consoleAddr}}
	if f.ports.Console == "off" {
		f.ports.Console = ""
	}
	if f.ports.Esenzioni == "off" {
		f.ports.Esenzioni = ""
	}
	if f.ports.CMS == "off" {
		f.ports.CMS = ""
	}
	return f, nil
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseDemoFlags(args, stdout, stderr)
	if err == errHelp {
		return 0
	}
	if err != nil {
		return 2
	}
	var listeners exampleListeners
	if !f.prepare {
		if err := listeners.bind(&f.ports); err != nil {
			fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
			return 2
		}
		defer listeners.close()
	}
	setup, err := demo.Prepare(f.dir, f.ports, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
		return 2
	}
	if err := setup.SetConfirmRelease(f.confirmRelease); err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
		return 2
	}
	if f.prepare {
		fmt.Fprintln(stdout, setup.ConfigFile)
		return 0
	}
	d, err := newDemoRun(setup, listeners, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
		return 2
	}
	if err := d.run(ctx, stdout); err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
		return 1
	}
	return 0
}

// bind binds the example relying parties' sockets first, like cnsgate's
// own: a busy port is reported now, and port 0 gets a real port before the
// configuration registers the relying party's URLs.
func (l *exampleListeners) bind(ports *demo.Ports) error {
	for _, e := range []struct {
		flag string
		addr *string
		ln   *net.Listener
	}{{"esenzioni", &ports.Esenzioni, &l.esenzioni}, {"cms", &ports.CMS, &l.cms}} {
		if *e.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", *e.addr)
		if err != nil {
			l.close()
			return fmt.Errorf("--%s: %w", e.flag, err)
		}
		*e.ln = ln
		*e.addr = boundAddr(*e.addr, ln.Addr())
	}
	return nil
}

func (l *exampleListeners) close() {
	for _, ln := range []net.Listener{l.esenzioni, l.cms} {
		if ln != nil {
			ln.Close()
		}
	}
}

// demoRun is a prepared demo: cnsgate's configuration and extras, and the
// example relying parties.
type demoRun struct {
	setup  *demo.Setup
	cfg    *config.Config
	logger *slog.Logger
	extras serveExtras
	apps   *exampleApps
}

func newDemoRun(setup *demo.Setup, listeners exampleListeners, stderr io.Writer) (*demoRun, error) {
	cfg, err := config.Load(setup.ConfigFile)
	if err != nil {
		return nil, err
	}
	d := &demoRun{setup: setup, cfg: cfg, logger: newLogger(cfg.Log, stderr)}
	if d.extras.admin, err = setup.CAHandlers(); err != nil {
		return nil, err
	}
	for path, h := range demo.InfoHandlers() {
		d.extras.admin[path] = h
	}
	if d.apps, err = newExampleApps(setup, cfg, listeners, d.logger); err != nil {
		return nil, err
	}
	// cnsgate's own outgoing calls (back-channel logout to the example
	// relying parties) must trust the demo's TLS CA.
	caPEM, err := os.ReadFile(setup.TLSCAFile)
	if err != nil {
		return nil, err
	}
	if d.extras.roots, err = x509cns.ParseCertificates(caPEM); err != nil {
		return nil, fmt.Errorf("%s: %w", setup.TLSCAFile, err)
	}
	return d, nil
}

// run serves cnsgate until ctx ends. The relying parties start once
// cnsgate answers (their discovery needs it) and stop after it, so that
// logout tokens sent while it shuts down still find them.
func (d *demoRun) run(ctx context.Context, stdout io.Writer) error {
	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	appsCtx, stopApps := context.WithCancel(context.Background())
	var launched sync.WaitGroup
	var appsErr error
	err := serve(serveCtx, d.cfg, d.setup.ConfigFile, d.logger, func(b bound) {
		launched.Add(1)
		go func() {
			defer launched.Done()
			if appsErr = d.apps.start(appsCtx); appsErr != nil {
				stopServe()
				return
			}
			printBanner(stdout, d.setup, d.cfg, b, d.apps)
		}()
	}, d.extras)
	stopApps()
	launched.Wait()
	d.apps.shutdown()
	if err == nil && ctx.Err() == nil { // Ctrl-C while they start is no error
		err = appsErr
	}
	return err
}

// boundAddr keeps the host the user asked for with the port the kernel
// gave.
func boundAddr(asked string, got net.Addr) string {
	host, _, err := net.SplitHostPort(asked)
	tcp, ok := got.(*net.TCPAddr)
	if err != nil || !ok {
		return got.String()
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

func printBanner(w io.Writer, s *demo.Setup, cfg *config.Config, b bound, apps *exampleApps) {
	verb := "reused"
	if s.Created {
		verb = "created"
	}
	fmt.Fprintf(w, "\ncnsgate demo is running (%s %s)\n\n", verb, s.Dir)
	fmt.Fprintf(w, "  public   %s\n  cns      %s   (mutual TLS: present a demo card)\n  admin    http://%s/healthz\n", cfg.Issuer, cfg.CNSOrigin, b.Admin)
	fmt.Fprintf(w, "  demo CA  http://%s%s (CRL), http://%s%s (OCSP)\n", b.Admin, demo.CRLPath, b.Admin, demo.OCSPPath)
	if cfg.ConsoleOn() {
		fmt.Fprintf(w, "  console  %s/   (security team's console: the \"security\" card)\n", cfg.Console.Origin)
	}
	for _, a := range apps.apps {
		fmt.Fprintf(w, "  %-8s %s/   (%s, %s)\n", a.label, a.baseURL, a.name, a.kind)
	}
	fmt.Fprintf(w, "\nDemo cards (certificate, key, PKCS#12 with password %q):\n", demo.PKCS12Password)
	for _, c := range s.Cards {
		fmt.Fprintf(w, "  %-9s %s\n            %s\n            %s\n            %s\n", c.Name, c.Description, c.ChainFile, c.KeyFile, c.PKCS12File())
	}
	fmt.Fprintf(w, "\nTry a card login with curl:\n")
	fmt.Fprintf(w, "  curl --cacert %s --cert %s --key %s %s/cns/check\n",
		s.TLSCAFile, s.Cards[0].ChainFile, s.Cards[0].KeyFile, cfg.CNSOrigin)
	if c, ok := s.Card("unregistered"); ok && len(apps.apps) > 0 {
		fmt.Fprintf(w, "In a browser: import %s (password %q; README, \"Import a demo card into a browser\"),\n",
			c.PKCS12File(), demo.PKCS12Password)
		fmt.Fprintf(w, "  then open %s/ and press \"Accedi con TS/CNS\".\n", apps.apps[0].baseURL)
	}
	if op, ok := s.Card("operator"); ok {
		for _, a := range apps.apps {
			if a.label == "sp" {
				fmt.Fprintf(w, "The CMS (%s/) admits operators only: import %s the same way.\n", a.baseURL, op.ChainFile)
			}
		}
	}
	fmt.Fprintf(w, "Inspect a card:\n  cnsgate inspect --trust %s %s\n\nPress Ctrl-C to stop.\n", s.TrustDir, s.Cards[0].CertFile)
}
