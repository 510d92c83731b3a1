package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/x509cns"
)

const registrationsUsage = `usage:
  cnsgate registrations SUBCOMMAND --help                      the flags of a subcommand
  cnsgate registrations import --config FILE [--replace] CSV   import eligible citizens (allowlist)
  cnsgate registrations list   --config FILE [--status S] [--fiscal-code CF] [--json]
  cnsgate registrations revoke --config FILE CF               revoke a citizen's cards and end their sessions
                                                              (through the running server's admin API when admin.token_file is set)
`

func cmdRegistrations(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runGroup(ctx, "registrations", registrationsUsage, map[string]subcommand{
		"import": registrationsImport, "list": registrationsList, "revoke": registrationsRevoke,
	}, args, stdout, stderr)
}

func registrationsImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := adminFlags("registrations import", stderr)
	replace := fs.Bool("replace", false, "remove eligible citizens absent from the file")
	describe(fs, "cnsgate registrations import --config FILE [--replace] CSV",
		"Imports eligible citizens for registration.mode: allowlist (CSV with ';' or ',', optional header\nfiscal_code,given_name,family_name,note); every bad row is reported with its line.\nregistration.allowlist_file is also read by serve at start and on SIGHUP; use this for large lists.")
	env, f, code := openAdminFile(ctx, fs, args, registrationsUsage, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.close()
	defer f.Close()
	file := f.Name()
	list, err := sqlstore.ParseEligibleCSV(f)
	if err != nil {
		return env.fail(fmt.Errorf("%s: %w", file, err))
	}
	res, err := env.reg.ImportEligible(ctx, list, *replace)
	if err != nil {
		return env.fail(err)
	}
	fmt.Fprintf(stdout, "%s: %d rows: %d inserted, %d updated, %d unchanged, %d removed\n",
		file, len(list), res.Inserted, res.Updated, res.Unchanged, res.Removed)
	return 0
}

func registrationsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := adminFlags("registrations list", stderr)
	status := fs.String("status", "", "active, replaced or revoked")
	cf := fs.String("fiscal-code", "", "only this citizen")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	limit := fs.Int("limit", 1000, "at most this many rows")
	describe(fs, "cnsgate registrations list --config FILE [--status S] [--fiscal-code CF] [--json]", "Lists card registrations, newest first.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.close()
	list, err := env.reg.List(ctx, registry.ListFilter{Status: registry.Status(*status), FiscalCode: *cf, Limit: *limit})
	if err != nil {
		return env.fail(err)
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
	fs := adminFlags("registrations revoke", stderr)
	describe(fs, "cnsgate registrations revoke --config FILE CF",
		"Revokes a citizen's cards (they can never be registered again) and ends their sessions, telling the\nrelying parties that took part; through the running server's admin API when admin.token_file is set.")
	env, arg, code := openAdminArg(ctx, fs, args, registrationsUsage, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.close()
	cf := x509cns.NormalizeFiscalCode(arg)
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
			return env.fail(errNothingToRevoke(cf))
		case !errors.Is(err, errNoServer):
			return env.fail(err)
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
		return env.fail(errNothingToRevoke(cf))
	}
	if err != nil {
		return env.fail(err)
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
		return env.fail(fmt.Errorf("sessions not ended: %w", err))
	}
	defer backend.close()
	login, err := newAdminLogin(env.cfg, backend, env.reg, slog.New(idp.LogHandler{Handler: slog.NewTextHandler(stderr, nil)}))
	if err != nil {
		return env.fail(fmt.Errorf("sessions not ended: %w", err))
	}
	ended, err := login.svc.EndCitizenSessions(ctx, cf, idp.CauseAdmin)
	drainCtx, cancel := context.WithTimeout(ctx, revokeDrain)
	defer cancel()
	if cerr := login.close(drainCtx); cerr != nil {
		env.fail(fmt.Errorf("some relying parties not told: %w", cerr))
	}
	if err != nil {
		return env.fail(fmt.Errorf("sessions not ended: %w", err))
	}
	fmt.Fprintf(stdout, "%s: %d session(s) ended\n", cf, ended)
	return 0
}

// errNothingToRevoke says that the citizen cf (masked) has no registration.
func errNothingToRevoke(cf string) error {
	return fmt.Errorf("%s has no registration to revoke", x509cns.MaskFiscalCode(cf))
}

// revokeDrain bounds the wait for the logout deliveries of a revoke.
const revokeDrain = 2 * time.Minute

func boolExit(ok bool) int {
	if ok {
		return 0
	}
	return 1
}
