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
	return runGroup(ctx, "operators", operatorsUsage, map[string]subcommand{
		"add": operatorsPutter("add"), "update": operatorsPutter("update"),
		"remove": operatorsRemove, "list": operatorsList, "import": operatorsImport,
	}, args, stdout, stderr)
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

// actorFlag is --actor of the commands that change operators.
func actorFlag(fs *flag.FlagSet) *string {
	return fs.String("actor", "", "your name, recorded in the audit trail with the system user")
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
		actor:   actorFlag(fs),
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

// operatorsPutter is operators add or operators update (verb).
func operatorsPutter(verb string) subcommand {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		return operatorsPut(ctx, verb, args, stdout, stderr)
	}
}

func operatorsPut(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) int {
	fs := adminFlags("operators "+verb, stderr)
	f := newOperatorFlags(fs)
	describe(fs, "cnsgate operators "+verb+" --config FILE [flags] CF",
		"Adds an operator, or updates one (only the flags given change); audited with its actor.")
	env, cf, code := openAdminArg(ctx, fs, args, operatorsUsage, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.close()
	j := idp.OperatorJSON{FiscalCode: cf}
	if verb == "update" {
		old, err := env.reg.Operator(ctx, cf)
		if err != nil {
			return env.fail(err)
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
		env.fail(err)
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
	fs := adminFlags("operators remove", stderr)
	actor := actorFlag(fs)
	describe(fs, "cnsgate operators remove --config FILE CF", "Removes an operator; audited with its actor.")
	env, cf, code := openAdminArg(ctx, fs, args, operatorsUsage, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.close()
	if err := env.reg.RemoveOperator(ctx, cf, cliActor(*actor)); err != nil {
		return env.fail(err)
	}
	fmt.Fprintf(stdout, "operator %s removed\n", strings.ToUpper(strings.TrimSpace(cf)))
	return 0
}

func operatorsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := adminFlags("operators list", stderr)
	asJSON := fs.Bool("json", false, "one JSON object per line")
	describe(fs, "cnsgate operators list --config FILE [--json]", "Lists every operator, by fiscal code.")
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.close()
	list, err := env.reg.ListOperators(ctx)
	if err != nil {
		return env.fail(err)
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
	fs := adminFlags("operators import", stderr)
	actor := actorFlag(fs)
	describe(fs, "cnsgate operators import --config FILE CSV", "Adds or updates the operators of a CSV file, in one transaction; audited with its actor.")
	env, f, code := openAdminFile(ctx, fs, args, operatorsUsage, stdout, stderr)
	if env == nil {
		return code
	}
	defer env.close()
	defer f.Close()
	file := f.Name()
	list, err := sqlstore.ParseOperatorsCSV(f, env.cfg.Operators.Roles)
	if err != nil {
		return env.fail(fmt.Errorf("%s: %w", file, err))
	}
	res, err := env.reg.ImportOperators(ctx, list, cliActor(*actor))
	if err != nil {
		return env.fail(err)
	}
	fmt.Fprintf(stdout, "%s: %d operators: %d added, %d updated\n", file, len(list), res.Inserted, res.Updated)
	return 0
}
