package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/x509cns"
)

const checkConfigAbout = `A dry run of "cnsgate serve": reads the configuration and everything it names
(TLS pair, trust store, CRL files, OIDC signing keys, SAML key and certificate,
service provider metadata, client secrets, admin token, allowlist) and reports
every problem at once, each with its option's path and line. It contacts no
database, session store or metadata URL; with trust.tsl_url and no list in
its cache file, it fetches the trusted list once (and writes nothing). Exits 0 when serve would start, 1
when it would not, 2 on a usage error.
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
	data, err := os.ReadFile(*path)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate check-config: %v\n", err)
		return 1
	}
	cfg, problems, d := checkConfig(data)
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "%s: %d problem(s):\n", *path, len(problems))
		for _, p := range problems {
			fmt.Fprintln(stderr, "  "+p.Error())
		}
		return 1
	}
	for _, note := range d.notes {
		fmt.Fprintln(stdout, note)
	}
	for _, r := range d.trustReports() {
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

// checkConfig loads a configuration document as serve does, then the files
// it names, and returns every problem of both, in the order of their lines
// (problems without a line last).
func checkConfig(data []byte) (*config.Config, []config.FieldError, *dryRun) {
	l := config.Loader{LookupEnv: os.LookupEnv, ReadFile: os.ReadFile}
	cfg, lines, err := l.ParseLenient(data)
	var problems []config.FieldError
	if err != nil {
		var verr *config.ValidationError
		if !errors.As(err, &verr) {
			return nil, []config.FieldError{{Msg: err.Error()}}, nil
		}
		problems = verr.Errors
	}
	if cfg == nil {
		return nil, problems, nil
	}
	d := &dryRun{cfg: cfg, lines: lines, now: time.Now()}
	d.run()
	problems = append(problems, d.errs...)
	slices.SortStableFunc(problems, func(a, b config.FieldError) int {
		if (a.Line == 0) != (b.Line == 0) {
			return cmp.Compare(b.Line, a.Line) // 0 after any line
		}
		return cmp.Compare(a.Line, b.Line)
	})
	return cfg, problems, d
}

// trustReports are the load reports of the trust store checked, if any.
func (d *dryRun) trustReports() []*x509cns.LoadReport {
	if d == nil || d.trust == nil {
		return nil
	}
	return d.trust.reports
}
