package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/x509cns"
)

// adminEnv is what the administrative commands work on: the configured
// registry and, to end sessions, the configured session store.
type adminEnv struct {
	cfg *config.Config
	reg *sqlstore.DB
}

// openAdmin parses the command line of an administrative command and opens
// the registry its configuration names. On a request for help it prints the
// command's help on stdout and returns nil and 0.
func openAdmin(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (*adminEnv, int) {
	path := fs.String("config", "", "configuration file (YAML)")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return nil, code
	}
	if *path == "" {
		fmt.Fprintf(stderr, "cnsgate %s: --config FILE is required\n", fs.Name())
		return nil, 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate %s: %v\n", fs.Name(), err)
		return nil, 2
	}
	reg, err := sqlstore.Open(ctx, string(cfg.Registry.Driver), cfg.Registry.DSN.Value())
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate %s: %v\n", fs.Name(), err)
		return nil, 2
	}
	return &adminEnv{cfg: cfg, reg: reg}, 0
}

const registrationsUsage = `usage:
  cnsgate registrations SUBCOMMAND --help                      the flags of a subcommand
  cnsgate registrations import --config FILE [--replace] CSV   import eligible citizens (allowlist)
  cnsgate registrations list   --config FILE [--status S] [--fiscal-code CF] [--json]
  cnsgate registrations revoke --config FILE CF               revoke a citizen's cards and end their sessions
                                                              (through the running server's admin API when admin.token_file is set)
`

func cmdRegistrations(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, done := groupHelp(args, registrationsUsage, stdout, stderr); done {
		return code
	}
	switch args[0] {
	case "import":
		return registrationsImport(ctx, args[1:], stdout, stderr)
	case "list":
		return registrationsList(ctx, args[1:], stdout, stderr)
	case "revoke":
		return registrationsRevoke(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "cnsgate registrations: unknown subcommand %q\n%s", args[0], registrationsUsage)
	return 2
}

func registrationsImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("registrations import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	replace := fs.Bool("replace", false, "remove eligible citizens absent from the file")
	describe(fs, "cnsgate registrations import --config FILE [--replace] CSV",
		"Imports eligible citizens for registration.mode: allowlist (CSV with ';' or ',', optional header\nfiscal_code,given_name,family_name,note); every bad row is reported with its line.\nregistration.allowlist_file is also read by serve at start and on SIGHUP; use this for large lists.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.reg.Close()
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, registrationsUsage)
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate registrations import: %v\n", err)
		return 2
	}
	defer f.Close()
	list, err := sqlstore.ParseEligibleCSV(f)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate registrations import: %s: %v\n", fs.Arg(0), err)
		return 1
	}
	res, err := env.reg.ImportEligible(ctx, list, *replace)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate registrations import: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d rows: %d inserted, %d updated, %d unchanged, %d removed\n",
		fs.Arg(0), len(list), res.Inserted, res.Updated, res.Unchanged, res.Removed)
	return 0
}

func registrationsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("registrations list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	status := fs.String("status", "", "active, replaced or revoked")
	cf := fs.String("fiscal-code", "", "only this citizen")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	limit := fs.Int("limit", 1000, "at most this many rows")
	describe(fs, "cnsgate registrations list --config FILE [--status S] [--fiscal-code CF] [--json]", "Lists card registrations, newest first.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.reg.Close()
	list, err := env.reg.List(ctx, registry.ListFilter{Status: registry.Status(*status), FiscalCode: *cf, Limit: *limit})
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate registrations list: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range list {
			_ = enc.Encode(r)
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FISCAL CODE\tCARD ID\tSTATUS\tISSUER\tREGISTERED\tLAST LOGIN")
	for _, r := range list {
		last := "-"
		if !r.LastLoginAt.IsZero() {
			last = r.LastLoginAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.FiscalCode, r.CardID, r.Status, r.Issuer, r.RegisteredAt.Local().Format(time.DateTime), last)
	}
	return boolExit(tw.Flush() == nil)
}

func registrationsRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("registrations revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	describe(fs, "cnsgate registrations revoke --config FILE CF",
		"Revokes a citizen's cards (they can never be registered again) and ends their sessions, telling the\nrelying parties that took part; through the running server's admin API when admin.token_file is set.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.reg.Close()
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, registrationsUsage)
		return 2
	}
	cf := x509cns.NormalizeFiscalCode(fs.Arg(0))
	if env.cfg.Admin.Token.Value() != "" {
		// The running server reaches every session, memory ones too, and
		// tells their relying parties itself.
		api := newAdminClient(env.cfg)
		res, err := api.revoke(ctx, cf)
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "%s: %d card registration(s) revoked; %d session(s) ended by the running server\n", cf, res.Revoked, res.SessionsEnded)
			return 0
		case errors.Is(err, registry.ErrNotRegistered):
			fmt.Fprintf(stderr, "cnsgate registrations revoke: %s has no registration to revoke\n", x509cns.MaskFiscalCode(cf))
			return 1
		case !errors.Is(err, errNoServer):
			fmt.Fprintf(stderr, "cnsgate registrations revoke: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%v: revoking here, ending only the sessions this command can reach\n", err)
	}
	return revokeHere(ctx, env, cf, stdout, stderr)
}

// revokeHere revokes in the registry and ends the sessions this process
// can reach (Redis), when no server answers on the admin listener.
func revokeHere(ctx context.Context, env *adminEnv, cf string, stdout, stderr io.Writer) int {
	n, err := env.reg.Revoke(ctx, cf)
	if errors.Is(err, registry.ErrNotRegistered) {
		fmt.Fprintf(stderr, "cnsgate registrations revoke: %s has no registration to revoke\n", x509cns.MaskFiscalCode(cf))
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate registrations revoke: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d card registration(s) revoked\n", cf, n)
	if _, err := env.reg.WithdrawConsent(ctx, cf, registry.ChannelCLI); err != nil && !errors.Is(err, registry.ErrNotFound) {
		fmt.Fprintf(stderr, "cnsgate registrations revoke: consent not recorded withdrawn: %v\n", err)
		return 1
	}
	// End the citizen's sessions where another process can reach them,
	// telling their relying parties, and wait for the deliveries.
	if env.cfg.Sessions.Store != config.StoreRedis {
		fmt.Fprintln(stdout, "note: sessions are kept in process memory (sessions.store: memory); open ones last until their timeout")
		return 0
	}
	backend, err := buildSessions(env.cfg.Sessions, env.cfg.Limits)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate registrations revoke: sessions not ended: %v\n", err)
		return 1
	}
	defer backend.close()
	login, err := newAdminLogin(env.cfg, backend, env.reg, slog.New(idp.LogHandler{Handler: slog.NewTextHandler(stderr, nil)}))
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate registrations revoke: sessions not ended: %v\n", err)
		return 1
	}
	ended, err := login.svc.EndCitizenSessions(ctx, cf, idp.CauseAdmin)
	drainCtx, cancel := context.WithTimeout(ctx, revokeDrain)
	defer cancel()
	if cerr := login.close(drainCtx); cerr != nil {
		fmt.Fprintf(stderr, "cnsgate registrations revoke: some relying parties not told: %v\n", cerr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate registrations revoke: sessions not ended: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d session(s) ended\n", cf, ended)
	return 0
}

// revokeDrain bounds the wait for the logout deliveries of a revoke.
const revokeDrain = 2 * time.Minute

func boolExit(ok bool) int {
	if ok {
		return 0
	}
	return 1
}
