package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/cnsgate/cnsgate/config"
)

const checkConfigAbout = `A dry run of "cnsgate serve": reads the configuration and everything it names
(TLS pair, trust store, OIDC signing keys, SAML key and certificate, service
provider metadata, client secrets, allowlist) and reports every problem at
once, each with its option's path and line. Exits 0 when serve would start,
1 when it would not, 2 on a usage error.
`

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (YAML)")
	print := fs.Bool("print", false, "print the effective configuration (secrets redacted)")
	describe(fs, "cnsgate check-config --config FILE [--print]", checkConfigAbout)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if *path == "" {
		fmt.Fprintln(stderr, "cnsgate check-config: --config FILE is required")
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		var verr *config.ValidationError
		if errors.As(err, &verr) {
			fmt.Fprintf(stderr, "%s: %d problem(s):\n", *path, len(verr.Strings()))
			for _, line := range verr.Strings() {
				fmt.Fprintln(stderr, "  "+line)
			}
			return 1
		}
		fmt.Fprintf(stderr, "cnsgate check-config: %v\n", err)
		return 1
	}
	// The configuration is valid as a document; now load what it points to,
	// as serve would, so that a bad trust directory is found before deploying.
	ts, err := loadTrust(cfg.Trust)
	if err == nil {
		err = ts.requireUsable()
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", *path, err)
		return 1
	}
	for _, r := range ts.reports {
		fmt.Fprintf(stdout, "trust: %s: %s\n", r.Source, r.Summary())
	}
	if *print {
		out, err := cfg.Redacted()
		if err != nil {
			fmt.Fprintf(stderr, "cnsgate check-config: %v\n", err)
			return 2
		}
		stdout.Write(out)
	}
	fmt.Fprintf(stdout, "%s: configuration is valid\n", *path)
	return 0
}
