package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

// adminEnv is what the administrative commands (registrations, operators,
// audit) work on: the configured registry and, to end sessions, the
// configured session store. It also reports the command's errors.
type adminEnv struct {
	cfg    *config.Config
	reg    *sqlstore.DB
	name   string    // the command, as in "cnsgate registrations revoke: ..."
	stderr io.Writer // where fail reports
}

// adminFlags is the flag set of the administrative command name, reporting
// on stderr.
func adminFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// openAdmin parses the command line of an administrative command and opens
// the registry its configuration names. On a request for help it prints the
// command's help on stdout and returns nil and 0; on an error it reports it
// and returns nil and the exit code.
func openAdmin(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (*adminEnv, int) {
	path := fs.String("config", "", "configuration file (YAML)")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return nil, code
	}
	if *path == "" {
		fmt.Fprintf(stderr, "cnsgate %s: --config FILE is required\n", fs.Name())
		return nil, 2
	}
	env := &adminEnv{name: fs.Name(), stderr: stderr}
	cfg, err := config.Load(*path)
	if err != nil {
		return nil, env.failCode(2, err)
	}
	reg, err := sqlstore.Open(ctx, string(cfg.Registry.Driver), cfg.Registry.DSN.Value())
	if err != nil {
		return nil, env.failCode(2, err)
	}
	env.cfg, env.reg = cfg, reg
	return env, 0
}

// openAdminArg is openAdmin for a command that takes exactly one argument
// (a fiscal code or a CSV file), which it returns: without it, the usage
// of the command group goes to stderr and the exit code is 2.
func openAdminArg(ctx context.Context, fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer) (*adminEnv, string, int) {
	env, code := openAdmin(ctx, fs, args, stdout, stderr)
	if env == nil {
		return nil, "", code
	}
	if fs.NArg() != 1 {
		env.close()
		fmt.Fprint(stderr, usage)
		return nil, "", 2
	}
	return env, fs.Arg(0), 0
}

// openAdminFile is openAdminArg for a command whose one argument is a file
// to read (a CSV), which it opens: a file that cannot be opened is
// reported with exit code 2.
func openAdminFile(ctx context.Context, fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer) (*adminEnv, *os.File, int) {
	env, name, code := openAdminArg(ctx, fs, args, usage, stdout, stderr)
	if env == nil {
		return nil, nil, code
	}
	f, err := os.Open(name)
	if err != nil {
		env.close()
		return nil, nil, env.failCode(2, err)
	}
	return env, f, 0
}

// close closes the registry.
func (e *adminEnv) close() { _ = e.reg.Close() }

// fail reports err as the command's and returns exit code 1.
func (e *adminEnv) fail(err error) int { return e.failCode(1, err) }

// failCode reports err as the command's and returns code.
func (e *adminEnv) failCode(code int, err error) int {
	fmt.Fprintf(e.stderr, "cnsgate %s: %v\n", e.name, err)
	return code
}

// subcommand runs one subcommand of a command group with the arguments
// that follow its name.
type subcommand func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// runGroup runs the subcommand of the command group that args name, or
// prints the group's usage (on stdout for help, else on stderr with exit
// code 2).
func runGroup(ctx context.Context, group, usage string, subs map[string]subcommand, args []string, stdout, stderr io.Writer) int {
	if code, done := groupHelp(args, usage, stdout, stderr); done {
		return code
	}
	if sub, ok := subs[args[0]]; ok {
		return sub(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "cnsgate %s: unknown subcommand %q\n%s", group, args[0], usage)
	return 2
}
