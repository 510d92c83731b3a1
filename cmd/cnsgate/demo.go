package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "./cnsgate-demo", "directory holding the demo PKI, keys and database (created on first run)")
	public := fs.String("public", demo.DefaultPorts.Public, "public listener")
	cns := fs.String("cns", demo.DefaultPorts.CNS, "card (mutual TLS) listener")
	admin := fs.String("admin", demo.DefaultPorts.Admin, "admin listener (/metrics /healthz /readyz)")
	prepare := fs.Bool("prepare", false, "create (or update) the demo directory, print where, and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	setup, err := demo.Prepare(*dir, demo.Ports{Public: *public, CNS: *cns, Admin: *admin}, time.Now())
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
	err = serve(ctx, cfg, setup.ConfigFile, logger, func(b bound) {
		printBanner(stdout, setup, cfg, b)
	}, caHandlers)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate demo: %v\n", err)
		return 1
	}
	return 0
}

func printBanner(w io.Writer, s *demo.Setup, cfg *config.Config, b bound) {
	verb := "reused"
	if s.Created {
		verb = "created"
	}
	fmt.Fprintf(w, "\ncnsgate demo is running (%s %s)\n\n", verb, s.Dir)
	fmt.Fprintf(w, "  public   %s\n  cns      %s   (mutual TLS: present a demo card)\n  admin    http://%s/healthz\n", cfg.Issuer, cfg.CNSOrigin, b.Admin)
	fmt.Fprintf(w, "  demo CA  http://%s%s (CRL), http://%s%s (OCSP)\n\n", b.Admin, demo.CRLPath, b.Admin, demo.OCSPPath)
	fmt.Fprintf(w, "Demo cards (certificate, key):\n")
	for _, c := range s.Cards {
		fmt.Fprintf(w, "  %-9s %s\n            %s\n            %s\n", c.Name, c.Description, c.ChainFile, c.KeyFile)
	}
	fmt.Fprintf(w, "\nTry a card login with curl:\n")
	fmt.Fprintf(w, "  curl --cacert %s --cert %s --key %s %s/cns/check\n",
		s.TLSCAFile, s.Cards[0].ChainFile, s.Cards[0].KeyFile, cfg.CNSOrigin)
	fmt.Fprintf(w, "Inspect a card:\n  cnsgate inspect --trust %s %s\n\nPress Ctrl-C to stop.\n", s.TrustDir, s.Cards[0].CertFile)
}
