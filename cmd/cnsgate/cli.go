package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// wantsHelp reports whether a command line asks for help: -h, -help or
// --help anywhere before a "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// describe sets the help of a command: its synopsis, what it does, then
// its flags.
func describe(fs *flag.FlagSet, synopsis, about string) {
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s\n\n", synopsis)
		if about != "" {
			fmt.Fprintln(w, strings.TrimRight(about, "\n"))
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, "Flags:")
		fs.PrintDefaults()
	}
}

// parseFlags parses a command's flags. A request for help prints the
// command's help on stdout and ends the command with exit code 0; a bad
// flag ends it with 2, the flag package having said why on stderr. ok is
// true when the command should go on.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (code int, ok bool) {
	if wantsHelp(args) {
		out := fs.Output()
		fs.SetOutput(stdout)
		fs.Usage()
		fs.SetOutput(out)
		return 0, false
	}
	if err := fs.Parse(args); err != nil {
		return 2, false
	}
	return 0, true
}

// groupHelp answers a command that has subcommands (registrations, audit,
// keys) when it is given none, or asked for help before naming one: the
// group's usage on stdout and 0 for help, on stderr and 2 otherwise.
func groupHelp(args []string, usage string, stdout, stderr io.Writer) (code int, done bool) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2, true
	}
	if wantsHelp(args[:1]) || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0, true
	}
	return 0, false
}
