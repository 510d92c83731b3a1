package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

// allowlistLoad is what one reading of registration.allowlist_file did.
type allowlistLoad struct {
	Rows int `json:"rows"` // good rows imported
	Bad  int `json:"bad"`  // rows refused, each logged with its line
	registry.ImportResult
}

// importAllowlist reads registration.allowlist_file into the registry's
// eligible citizens, as at start and on SIGHUP. A bad row is logged with
// its line and left out; the others are imported (added or updated, never
// removed: a citizen taken out of the file stays eligible until
// "cnsgate registrations import --replace"). err is for a file that cannot
// be read or holds no good row, and for the registry's failure; then
// nothing changes.
func importAllowlist(ctx context.Context, file string, reg *sqlstore.DB, logger *slog.Logger) (allowlistLoad, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return allowlistLoad{}, fmt.Errorf("registration: allowlist_file: %w", err)
	}
	good, bad, err := sqlstore.ReadEligibleCSV(bytes.NewReader(data))
	if err != nil {
		return allowlistLoad{}, fmt.Errorf("registration: allowlist_file: %s: %w", file, err)
	}
	res := allowlistLoad{Rows: len(good)}
	if bad != nil {
		res.Bad = len(bad.Lines)
		for _, l := range bad.Lines {
			logger.Warn("allowlist row not loaded", "file", file, "line", l.Line, "reason", l.Err.Error())
		}
	}
	if len(good) == 0 {
		return res, fmt.Errorf("registration: allowlist_file: %s: no good row (%d bad)", file, res.Bad)
	}
	if res.ImportResult, err = reg.ImportEligible(ctx, good, false); err != nil {
		return res, err
	}
	logger.Info("allowlist loaded", "file", file, "rows", res.Rows, "bad_rows", res.Bad,
		"inserted", res.Inserted, "updated", res.Updated, "unchanged", res.Unchanged)
	return res, nil
}

// buildAllowlist reads registration.allowlist_file at start: a file that
// cannot be read stops serve, as check-config says it would.
func (g *gateway) buildAllowlist(ctx context.Context) error {
	f := g.cfg.Registration.AllowlistFile
	if f == "" {
		return nil
	}
	_, err := importAllowlist(ctx, f, g.registry, g.logger)
	return err
}

// reloadAllowlist re-reads registration.allowlist_file on SIGHUP and
// audits the outcome; on an error the eligible citizens stay as they were.
func (g *gateway) reloadAllowlist(ctx context.Context) {
	f := g.cfg.Registration.AllowlistFile
	if f == "" {
		return
	}
	res, err := importAllowlist(ctx, f, g.registry, g.logger)
	ev := registry.Event{Kind: registry.KindConfigReload, Outcome: registry.OutcomeSuccess}
	detail := map[string]any{"part": "allowlist", "file": f, "rows": res.Rows, "bad_rows": res.Bad,
		"inserted": res.Inserted, "updated": res.Updated}
	if err != nil {
		g.logger.Error("allowlist reload failed; the eligible citizens stay as they were", "err", err)
		ev.Outcome, ev.Reason = registry.OutcomeFailure, "invalid"
		detail["error"] = err.Error()
	}
	ev.Detail, _ = json.Marshal(detail)
	g.svc.Audit(ctx, ev)
}
