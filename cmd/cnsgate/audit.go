package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

const auditUsage = `usage:
  cnsgate audit query --config FILE [--since T] [--until T] [--fiscal-code CF] [--card-serial HEX] [--issuer I] [--client RP]
                      [--outcome success|failure] [--kind K] [--reason R] [--remote-ip IP] [--limit N] [--offset N]
                      [--format jsonl|json|csv] [--aggregate --by outcome|reason|issuer|client]
                                          search the audit trail (JSON lines, newest first; the filters of /admin/audit)
  cnsgate audit verify --config FILE [--json]
                                          check the audit chain: events changed, removed or inserted, with their positions
`

func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runGroup(ctx, "audit", auditUsage, map[string]subcommand{"query": auditQuery, "verify": auditVerify}, args, stdout, stderr)
}

// auditQueryFlags maps the flags of audit query to the parameters of the
// admin API's /admin/audit, which the same code (idp.ParseAuditSearch)
// reads.
var auditQueryFlags = [][2]string{
	{"since", "since"}, {"until", "until"}, {"fiscal-code", "fiscal_code"}, {"card-serial", "card_serial"},
	{"issuer", "issuer"}, {"client", "client"}, {"outcome", "outcome"}, {"kind", "kind"}, {"reason", "reason"},
	{"remote-ip", "remote_ip"}, {"limit", "limit"}, {"offset", "offset"}, {"max-id", "max_id"}, {"by", "by"},
}

var auditQueryHelp = map[string]string{"since": "events from then: RFC 3339 time, date or duration before now", "until": "events before then (same forms)",
	"fiscal-code": "only this citizen", "card-serial": "only this card (certificate serial, hex)", "issuer": "only this issuing CA",
	"client": "only this relying party", "outcome": "success or failure", "kind": "login, registration, logout, session_end, ...",
	"reason": "only this reason", "remote-ip": "only this client address", "limit": "at most this many events, newest first",
	"offset": "skip this many events first", "max-id": "the max_id of an earlier page (its snapshot)", "by": "aggregate by this dimension (with --aggregate)"}

const auditQuerySynopsis = "cnsgate audit query --config FILE [--since T] [--until T] [--fiscal-code CF] [--card-serial HEX] [--issuer I]\n" +
	"    [--client RP] [--outcome success|failure] [--kind K] [--reason R] [--remote-ip IP] [--limit N] [--offset N] [--max-id N]\n" +
	"    [--format jsonl|json|csv] [--aggregate] [--by outcome|reason|issuer|client]"

func auditQuery(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := adminFlags("audit query", stderr)
	vals := map[string]*string{}
	defaults := map[string]string{"since": "24h", "limit": "1000"}
	for _, f := range auditQueryFlags {
		vals[f[0]] = fs.String(f[0], defaults[f[0]], auditQueryHelp[f[0]])
	}
	format := fs.String("format", "jsonl", "jsonl (one event a line), json (the admin API's page) or csv")
	aggregate := fs.Bool("aggregate", false, "count events per day by --by (logins unless --kind) instead of listing them")
	describe(fs, auditQuerySynopsis,
		"Searches the audit trail with the filters of the admin API's /admin/audit (the same code); prints JSON lines, newest first,\n"+
			"with the full fiscal code, or the page as JSON or CSV; --aggregate counts events per day.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.close()
	v := url.Values{}
	for _, f := range auditQueryFlags {
		if *vals[f[0]] != "" {
			v.Set(f[1], *vals[f[0]])
		}
	}
	s, err := idp.ParseAuditSearch(v, time.Now(), idp.AuditLimits{DefaultLimit: 1000})
	if err == nil && *format != "jsonl" && *format != "json" && *format != "csv" {
		err = fmt.Errorf("--format %q is not jsonl, json or csv", *format)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate audit query: %v\n", err)
		return 1 // as before the filters were shared with the admin API
	}
	if *aggregate {
		err = printAuditAggregate(ctx, env.reg, s, *format, stdout)
	} else {
		err = printAuditPage(ctx, env.reg, s, *format, stdout)
	}
	if err != nil {
		return env.fail(err)
	}
	return 0
}

func printAuditPage(ctx context.Context, st idp.AuditStore, s idp.AuditSearch, format string, stdout io.Writer) error {
	p, err := idp.RunAuditSearch(ctx, st, s)
	if err != nil {
		return err
	}
	switch format {
	case "csv":
		return idp.WriteAuditCSV(stdout, p.Events)
	case "json":
		return json.NewEncoder(stdout).Encode(idp.AuditPageJSON(p))
	}
	enc := json.NewEncoder(stdout)
	for _, e := range p.Events {
		_ = enc.Encode(idp.AuditEventJSON(e))
	}
	return nil
}

func printAuditAggregate(ctx context.Context, st idp.AuditStore, s idp.AuditSearch, format string, stdout io.Writer) error {
	if s.Query.Kind == "" {
		s.Query.Kind = registry.KindLogin
	}
	buckets, by, err := idp.RunAuditAggregate(ctx, st, s)
	if err != nil {
		return err
	}
	if format == "csv" {
		return idp.WriteAuditBucketsCSV(stdout, by, buckets)
	}
	return json.NewEncoder(stdout).Encode(idp.AuditBucketsJSON(by, buckets))
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
