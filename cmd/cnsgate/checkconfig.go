package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/x509cns/tslsync"
)

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (YAML)")
	print := fs.Bool("print", false, "print the effective configuration (secrets redacted)")
	if err := fs.Parse(args); err != nil {
		return 2
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
	ts, err := loadTrustWith(cfg.Trust, checkTSL(cfg.Trust, stdout))
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

// checkTSL is the list of trust.tsl_url as serve would start with it: the
// cache file's when it verifies, else one fetch now, verified and not
// persisted (check-config writes nothing). A list that cannot be had is
// reported, not fatal: serve starts on the other anchors and retries.
func checkTSL(t config.Trust, stdout io.Writer) *tslsync.List {
	if t.TSLURL == "" {
		return nil
	}
	if l := cachedTSL(t); l != nil {
		return l
	}
	t.TSLCacheFile = ""
	s, err := newTSLSyncer(t, tslsync.Options{})
	if err == nil {
		err = s.Fetch(context.Background())
	}
	if err != nil {
		fmt.Fprintf(stdout, "trust: tsl_url: no list in the cache and none fetched: %v\n", err)
		return nil
	}
	return s.Current()
}
