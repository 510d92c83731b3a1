package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// signingKeyFiles are the names `keys generate --dir` writes: an RSA key
// (RS256, the default of ID tokens, and PS256) and an EC P-256 key (ES256),
// kept side by side in oidc.signing_keys.
var signingKeyFiles = []struct{ alg, name string }{
	{pemfile.AlgRS256, "signing-rs256.pem"},
	{pemfile.AlgES256, "signing-es256.pem"},
}

const keysUsage = `usage:
  cnsgate keys generate [--dir DIR]                        an RSA 3072 and an EC P-256 token signing key
  cnsgate keys generate [--alg RS256|ES256] [--out FILE]   one key (PKCS#8 PEM)
  cnsgate keys generate ... --state next                   the same, printed as oidc.keys entries of a rotation's next keys
`

// cmdKeys generates token signing keys for oidc.signing_keys. By default
// it writes both an RSA 3072 and an EC P-256 key into --dir and prints
// the configuration that lists them; --alg or --out make one key.
func cmdKeys(args []string, stdout, stderr io.Writer) int {
	if code, done := groupHelp(args, keysUsage, stdout, stderr); done {
		return code
	}
	if args[0] != "generate" {
		fmt.Fprintf(stderr, "cnsgate keys: unknown subcommand %q\n%s", args[0], keysUsage)
		return 2
	}
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "write "+signingKeyFiles[0].name+" (RSA 3072) and "+signingKeyFiles[1].name+" (P-256) into this directory")
	alg := fs.String("alg", "", "make one key: RS256 (RSA 3072) or ES256 (P-256); with --out alone, ES256")
	out := fs.String("out", "", "write the one PKCS#8 PEM key to this file (mode 0600) instead of standard output")
	state := fs.String("state", "", "print the oidc.keys entries of the new keys in this rotation state: next (published, not signing yet), active")
	describe(fs, "cnsgate keys generate [--dir DIR] | [--alg RS256|ES256] [--out FILE] [--state next|active]",
		"Token signing keys for oidc.signing_keys: by default an RSA 3072 key (RS256, PS256) and an EC P-256 key (ES256)\n"+
			"written into --dir, with the signing_keys option that lists them; --alg or --out make one key.\n"+
			"--state next prints oidc.keys entries instead: the first step of a rotation (docs/operations.md).")
	if code, ok := parseFlags(fs, args[1:], stdout); !ok {
		return code
	}
	one := *alg != "" || *out != ""
	if msg := keysFlagProblem(fs, one, *state); msg != "" {
		fmt.Fprintln(stderr, "cnsgate keys generate: "+msg)
		return 2
	}
	if !one {
		return generateBoth(*dir, *state, stdout, stderr)
	}
	if *alg == "" {
		*alg = pemfile.AlgES256
	}
	pemKey, err := pemfile.GenerateKey(*alg)
	if err == nil {
		if *out == "" {
			_, err = stdout.Write(pemKey)
		} else if err = writeNewKey(*out, pemKey); err == nil && *state != "" {
			abs, _ := filepath.Abs(*out)
			printKeyEntries(stdout, *state, []string{abs})
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate keys generate: %v\n", err)
		return 2
	}
	return 0
}

// keysFlagProblem says what is wrong with the flags of keys generate
// ("" when nothing): --dir with one key, an unknown --state.
func keysFlagProblem(fs *flag.FlagSet, one bool, state string) string {
	dirSet := false
	fs.Visit(func(f *flag.Flag) { dirSet = dirSet || f.Name == "dir" })
	if one && dirSet {
		return "--dir writes both keys; --alg and --out make one"
	}
	if state != "" && state != string(config.KeyNext) && state != string(config.KeyActive) {
		return fmt.Sprintf("--state is next or active (a key is retired in the configuration), not %q", state)
	}
	return ""
}

// generateBoth writes the RSA and the EC key into dir and prints the
// signing_keys option listing them. An existing key file is an error, and
// nothing is written then.
func generateBoth(dir, state string, stdout, stderr io.Writer) int {
	paths := make([]string, len(signingKeyFiles))
	for i, f := range signingKeyFiles {
		abs, err := filepath.Abs(filepath.Join(dir, f.name))
		if err == nil {
			if _, serr := os.Stat(abs); serr == nil {
				err = fmt.Errorf("%s exists; a signing key is never overwritten", abs)
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "cnsgate keys generate: %v\n", err)
			return 2
		}
		paths[i] = abs
	}
	for i, f := range signingKeyFiles {
		pemKey, err := pemfile.GenerateKey(f.alg)
		if err == nil {
			err = writeNewKey(paths[i], pemKey)
		}
		if err != nil {
			fmt.Fprintf(stderr, "cnsgate keys generate: %v\n", err)
			return 2
		}
	}
	if state != "" {
		printKeyEntries(stdout, state, paths)
		return 0
	}
	fmt.Fprintf(stdout, "oidc:\n  signing_keys:\n")
	for _, p := range paths {
		fmt.Fprintf(stdout, "    - %s\n", p)
	}
	return 0
}

// printKeyEntries prints the oidc.keys entries of files in state.
func printKeyEntries(stdout io.Writer, state string, files []string) {
	fmt.Fprintf(stdout, "oidc:\n  keys:\n")
	for _, f := range files {
		fmt.Fprintf(stdout, "    - file: %s\n      state: %s\n", f, state)
	}
}

// writeNewKey creates path with mode 0600; it never overwrites a key.
func writeNewKey(path string, pemKey []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			err = fmt.Errorf("%s exists; a signing key is never overwritten", path)
		}
		return err
	}
	_, err = f.Write(pemKey)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
