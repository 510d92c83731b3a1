package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `cnsgate — log in to public-administration services with a TS-CNS smart card

Usage:
  cnsgate serve --config FILE            run the gateway (SIGHUP reloads, SIGTERM shuts down in order)
  cnsgate demo [--dir DIR] [--public|--cns|--admin ADDR] [--esenzioni|--cms|--console ADDR|off]
                                         run a self-contained demo (generated card PKI)
  cnsgate check-config --config FILE     validate a configuration and print every problem
  cnsgate inspect [--config FILE | --trust DIR] CERT
                                         validate a card certificate and print its identity as JSON
  cnsgate registrations import|list|revoke --config FILE ...
                                         manage eligible citizens and card registrations
  cnsgate operators add|list|update|remove|import --config FILE ...
                                         manage operators: organisation, roles, validity (audited)
  cnsgate audit query --config FILE [--since DURATION] [--fiscal-code CF] [--outcome X]
                                         search the audit trail (JSON lines)
  cnsgate audit verify --config FILE [--json]
                                         check the audit chain: events changed, removed or inserted, by position
  cnsgate keys generate [--dir DIR] | [--alg ES256|RS256] [--out FILE]
                                         token signing keys (PKCS#8 PEM): an RSA and an EC key, or one
  cnsgate version                        print the version

Run "cnsgate COMMAND --help" (or "cnsgate COMMAND SUBCOMMAND --help") for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a command line and returns the process exit code:
// 0 success, 1 a negative verdict (rejected card, invalid config), 2 a usage
// or operational error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(rest, stdout, stderr)
	case "inspect":
		return cmdInspect(rest, stdout, stderr)
	case "registrations":
		return cmdRegistrations(ctx, rest, stdout, stderr)
	case "operators":
		return cmdOperators(ctx, rest, stdout, stderr)
	case "audit":
		return cmdAudit(ctx, rest, stdout, stderr)
	case "keys":
		return cmdKeys(rest, stdout, stderr)
	case "version", "--version":
		if wantsHelp(rest) {
			fmt.Fprint(stdout, "usage: cnsgate version\n\nPrints the version of this binary.\n")
			return 0
		}
		fmt.Fprintln(stdout, "cnsgate", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "cnsgate: unknown command %q\n\n%s", cmd, usage)
	return 2
}
