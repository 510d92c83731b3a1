package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/x509cns"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "./cnsgate-demo", "directory holding the demo PKI, keys and database (created on first run)")
	public := fs.String("public", demo.DefaultPorts.Public, "public listener")
	cns := fs.String("cns", demo.DefaultPorts.CNS, "card (mutual TLS) listener")
	admin := fs.String("admin", demo.DefaultPorts.Admin, "admin listener (/metrics /healthz /readyz)")
	esenzioni := fs.String("esenzioni", demo.DefaultPorts.Esenzioni, `the example OIDC relying party "Esenzioni da reddito" ("off": neither registered nor started)`)
	cms := fs.String("cms", demo.DefaultPorts.CMS, `the example SAML service provider "CMS - Gestione tessere" ("off": neither registered nor started)`)
	prepare := fs.Bool("prepare", false, "create (or update) the demo directory, print where, and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ports := demo.Ports{Public: *public, CNS: *cns, Admin: *admin, Esenzioni: *esenzioni, CMS: *cms}
	if ports.Esenzioni == "off" {
		ports.Esenzioni = ""
	}
	if ports.CMS == "off" {
		ports.CMS = ""
	}
	// The example relying parties' sockets are bound first, like cnsgate's
	// own: a busy port is reported now, and port 0 gets a real port before
	// the configuration registers the relying party's URLs.
	var listeners exampleListeners
	for _, l := range []struct {
		flag string
		addr *string
		ln   *net.Listener
	}{{"esenzioni", &ports.Esenzioni, &listeners.esenzioni}, {"cms", &ports.CMS, &listeners.cms}} {
		if *prepare || *l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", *l.addr)
		if err != nil {
			fmt.Fprintf(stderr, "cnsgate demo: --%s: %v\n", l.flag, err)
			return 2
		}
		defer ln.Close()
		*l.ln = ln
		*l.addr = boundAddr(*l.addr, ln.Addr())
	}
	setup, err := demo.Prepare(*dir, ports, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
		return 2
	}
	if *prepare {
		fmt.Fprintln(stdout, setup.ConfigFile)
		return 0
	}
	cfg, err := config.Load(setup.ConfigFile)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
		return 2
	}
	logger := newLogger(cfg.Log, stderr)
	caHandlers, err := setup.CAHandlers()
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
		return 2
	}
	apps, err := newExampleApps(setup, cfg, listeners, logger)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
		return 2
	}
	// cnsgate's own outgoing calls (back-channel logout to the example
	// relying parties) must trust the demo's TLS CA.
	caPEM, err := os.ReadFile(setup.TLSCAFile)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
		return 2
	}
	roots, err := x509cns.ParseCertificates(caPEM)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %s: %v\n", setup.TLSCAFile, err)
		return 2
	}

	// The relying parties start once cnsgate answers (their discovery
	// needs it) and stop after it, so that logout tokens sent while it
	// shuts down still find them.
	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	appsCtx, stopApps := context.WithCancel(context.Background())
	var launched sync.WaitGroup
	var appsErr error
	err = serve(serveCtx, cfg, setup.ConfigFile, logger, func(b bound) {
		launched.Add(1)
		go func() {
			defer launched.Done()
			if appsErr = apps.start(appsCtx); appsErr != nil {
				stopServe()
				return
			}
			printBanner(stdout, setup, cfg, b, apps)
		}()
	}, serveExtras{admin: caHandlers, roots: roots})
	stopApps()
	launched.Wait()
	apps.shutdown()
	if err == nil && ctx.Err() == nil { // Ctrl-C while they start is no error
		err = appsErr
	}
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
		return 1
	}
	return 0
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
