package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/x509cns"
)

const auditUsage = `usage:
  cnsgate audit query --config FILE [--since DURATION] [--fiscal-code CF] [--outcome success|failure] [--kind K] [--limit N]
                                          search the audit trail (JSON lines, newest first)
  cnsgate audit verify --config FILE [--json]
                                          check the audit chain: events changed, removed or inserted, with their positions
`

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runGroup(ctx, "audit", auditUsage, map[string]subcommand{"query": auditQuery, "verify": auditVerify}, args, stdout, stderr)
}

func auditQuery(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := adminFlags("audit query", stderr)
	since := fs.Duration("since", 24*time.Hour, "events newer than this")
	cf := fs.String("fiscal-code", "", "only this citizen")
	outcome := fs.String("outcome", "", "success or failure")
	kind := fs.String("kind", "", "login, registration, logout, session_end, ...")
	limit := fs.Int("limit", 1000, "at most this many events, newest first")
	describe(fs, "cnsgate audit query --config FILE [--since DURATION] [--fiscal-code CF] [--outcome success|failure] [--kind K] [--limit N]",
		"Searches the audit trail; prints JSON lines, newest first, with the full fiscal code.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.close()
	events, err := env.reg.QueryAudit(ctx, registry.AuditQuery{
		Since: time.Now().Add(-*since), FiscalCode: x509cns.NormalizeFiscalCode(*cf),
		Outcome: registry.Outcome(*outcome), Kind: registry.EventKind(*kind), Limit: *limit,
	})
	if err != nil {
		return env.fail(err)
	}
	enc := json.NewEncoder(stdout)
	for _, e := range events {
		_ = enc.Encode(auditJSON(e))
	}
	return 0
}

// auditJSON is an event as investigators read it: the full fiscal code (the
// command is for them), names in snake_case.
func auditJSON(e registry.Event) map[string]any {
	m := map[string]any{"id": e.ID, "at": e.At.UTC().Format(time.RFC3339Nano), "kind": e.Kind, "outcome": e.Outcome}
	for k, v := range map[string]string{"reason": e.Reason, "fiscal_code": e.FiscalCode, "client": e.Client,
		"session": e.SessionHash, "card_serial": e.CardSerial, "issuer": e.Issuer, "remote_ip": e.RemoteIP, "request_id": e.RequestID} {
		if v != "" {
			m[k] = v
		}
	}
	if len(e.Detail) > 0 {
		m["detail"] = e.Detail
	}
	return m
}

func auditVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := adminFlags("audit verify", stderr)
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	describe(fs, "cnsgate audit verify --config FILE [--json]",
		"Checks the audit chain from retention's last anchor to its head, and the checkpoints signed with audit.checkpoint_key_file:\n"+
			"prints OK, or each event changed, removed or inserted with its position (seq) and id; exits 1 on any problem.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.close()
	var pub ed25519.PublicKey
	if f := env.cfg.Audit.CheckpointKeyFile; f != "" {
		key, err := sqlstore.LoadCheckpointKey(f)
		if err != nil {
			return env.failCode(2, fmt.Errorf("audit.checkpoint_key_file: %w", err))
		}
		pub = key.Public().(ed25519.PublicKey)
	}
	r, err := env.reg.VerifyAudit(ctx, pub)
	if err != nil {
		return env.failCode(2, err)
	}
	if *asJSON {
		if r.Problems == nil {
			r.Problems = []sqlstore.AuditProblem{}
		}
		_ = json.NewEncoder(stdout).Encode(r)
		return boolExit(r.OK())
	}
	printAuditReport(stdout, r, pub != nil)
	return boolExit(r.OK())
}

// printAuditReport writes the report as lines people read.
func printAuditReport(w io.Writer, r sqlstore.AuditReport, signed bool) {
	for _, p := range r.Problems {
		fmt.Fprintln(w, p.String())
	}
	sigs := "checkpoint signatures checked"
	if !signed {
		sigs = "no audit.checkpoint_key_file: checkpoint signatures not checked"
	}
	verdict := "OK"
	if !r.OK() {
		verdict = fmt.Sprintf("%d problem(s)", len(r.Problems))
	}
	fmt.Fprintf(w, "%s: %d event(s) checked (seq %d to %d), %d checkpoint(s), %d event(s) from before the chain; %s\n",
		verdict, r.Events, r.Start+1, r.Head, r.Checkpoints, r.Legacy, sigs)
}
