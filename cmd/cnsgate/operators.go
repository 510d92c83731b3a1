package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

const operatorsUsage = `usage:
  cnsgate operators SUBCOMMAND --help   the flags of a subcommand
  cnsgate operators add    --config FILE --roles R1,R2 [--organisation-id ID] [--organisation-name NAME]
                           [--valid-from YYYY-MM-DD] [--valid-until YYYY-MM-DD] [--any-card] CF
  cnsgate operators update --config FILE [the flags of add: only those given change] CF
  cnsgate operators remove --config FILE CF
  cnsgate operators list   --config FILE [--json]
  cnsgate operators import --config FILE CSV
Roles must be among operators.roles when it is set. Every change is audited
(kind operator_change) with its actor, "cli:<user>" (--actor adds a name).
`

func cmdOperators(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if code, done := groupHelp(args, operatorsUsage, stdout, stderr); done {
		return code
	}
	switch args[0] {
	case "add", "update":
		return operatorsPut(ctx, args[0], args[1:], stdout, stderr)
	case "remove":
		return operatorsRemove(ctx, args[1:], stdout, stderr)
	case "list":
		return operatorsList(ctx, args[1:], stdout, stderr)
	case "import":
		return operatorsImport(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "cnsgate operators: unknown subcommand %q\n%s", args[0], operatorsUsage)
	return 2
}

// cliActor names who runs the command: the system user, and the name given
// with --actor.
func cliActor(name string) string {
	who := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		who = u.Username
	}
	actor := "cli:" + who
	if name = strings.TrimSpace(name); name != "" {
		actor += " as " + name
	}
	return actor
}

// operatorFlags are the fields add and update take.
type operatorFlags struct {
	roles, orgID, orgName, from, until *string
	anyCard                            *bool
	actor                              *string
}

func newOperatorFlags(fs *flag.FlagSet) operatorFlags {
	return operatorFlags{
		roles:   fs.String("roles", "", "operator roles, comma-separated"),
		orgID:   fs.String("organisation-id", "", "the organisation's code (e.g. the ASL's)"),
		orgName: fs.String("organisation-name", "", "the organisation's name"),
		from:    fs.String("valid-from", "", "first day the roles are granted (YYYY-MM-DD; empty: no bound)"),
		until:   fs.String("valid-until", "", "day the roles stop (YYYY-MM-DD, exclusive; empty: no bound)"),
		anyCard: fs.Bool("any-card", false, "grant the roles whatever card is used (default: an operator card is required)"),
		actor:   fs.String("actor", "", "your name, recorded in the audit trail with the system user"),
	}
}

// apply sets on j the flags given (all of them for add).
func (f operatorFlags) apply(fs *flag.FlagSet, j *idp.OperatorJSON) {
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "roles":
			j.Roles = nil
			for _, r := range strings.Split(*f.roles, ",") {
				if r = strings.TrimSpace(r); r != "" {
					j.Roles = append(j.Roles, r)
				}
			}
		case "organisation-id":
			j.OrganisationID = *f.orgID
		case "organisation-name":
			j.OrganisationName = *f.orgName
		case "valid-from":
			j.ValidFrom = *f.from
		case "valid-until":
			j.ValidUntil = *f.until
		case "any-card":
			req := !*f.anyCard
			j.OperatorCardRequired = &req
		}
	})
}

func operatorsPut(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("operators "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := newOperatorFlags(fs)
	describe(fs, "cnsgate operators "+verb+" --config FILE [flags] CF",
		"Adds an operator, or updates one (only the flags given change); audited with its actor.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.reg.Close()
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, operatorsUsage)
		return 2
	}
	j := idp.OperatorJSON{FiscalCode: fs.Arg(0)}
	if verb == "update" {
		old, err := env.reg.Operator(ctx, fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "cnsgate operators update: %v\n", err)
			return 1
		}
		j = idp.ToOperatorJSON(*old)
	}
	f.apply(fs, &j)
	o, err := j.Operator(env.cfg.Operators.Roles)
	if err == nil {
		if verb == "add" {
			err = env.reg.AddOperator(ctx, o, cliActor(*f.actor))
		} else {
			err = env.reg.UpdateOperator(ctx, o, cliActor(*f.actor))
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate operators %s: %v\n", verb, err)
		if errors.Is(err, registry.ErrExists) {
			fmt.Fprintln(stderr, "use: cnsgate operators update")
		}
		return 1
	}
	fmt.Fprintf(stdout, "operator %s %sed: roles %s, organisation %s\n", o.FiscalCode, strings.TrimSuffix(verb, "e"),
		strings.Join(o.Roles, ","), strings.TrimSpace(o.OrganisationName+" "+o.Organisation))
	return 0
}

func operatorsRemove(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("operators remove", flag.ContinueOnError)
	fs.SetOutput(stderr)
	actor := fs.String("actor", "", "your name, recorded in the audit trail with the system user")
	describe(fs, "cnsgate operators remove --config FILE CF", "Removes an operator; audited with its actor.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.reg.Close()
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, operatorsUsage)
		return 2
	}
	if err := env.reg.RemoveOperator(ctx, fs.Arg(0), cliActor(*actor)); err != nil {
		fmt.Fprintf(stderr, "cnsgate operators remove: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "operator %s removed\n", strings.ToUpper(strings.TrimSpace(fs.Arg(0))))
	return 0
}

func operatorsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("operators list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "one JSON object per line")
	describe(fs, "cnsgate operators list --config FILE [--json]", "Lists every operator, by fiscal code.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.reg.Close()
	list, err := env.reg.ListOperators(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate operators list: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, o := range list {
			_ = enc.Encode(idp.ToOperatorJSON(o))
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FISCAL CODE\tORGANISATION\tNAME\tROLES\tVALID FROM\tVALID UNTIL\tOPERATOR CARD")
	for _, o := range list {
		j := idp.ToOperatorJSON(o)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%t\n", j.FiscalCode, dash(j.OrganisationID), dash(j.OrganisationName),
			strings.Join(j.Roles, ","), dash(j.ValidFrom), dash(j.ValidUntil), !o.AnyCard)
	}
	return boolExit(tw.Flush() == nil)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func operatorsImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("operators import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	actor := fs.String("actor", "", "your name, recorded in the audit trail with the system user")
	describe(fs, "cnsgate operators import --config FILE CSV", "Adds or updates the operators of a CSV file, in one transaction; audited with its actor.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.reg.Close()
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, operatorsUsage)
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate operators import: %v\n", err)
		return 2
	}
	defer f.Close()
	list, err := sqlstore.ParseOperatorsCSV(f, env.cfg.Operators.Roles)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate operators import: %s: %v\n", fs.Arg(0), err)
		return 1
	}
	res, err := env.reg.ImportOperators(ctx, list, cliActor(*actor))
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate operators import: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d operators: %d added, %d updated\n", fs.Arg(0), len(list), res.Inserted, res.Updated)
	return 0
}
