package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

const keysUsage = `usage:
  cnsgate keys generate [--alg RS256|ES256] [--out FILE]   a new token signing key (PKCS#8 PEM)
`

// cmdKeys generates token signing keys for oidc.signing_keys: the first
// key listed signs, the others are published for rotation.
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
	alg := fs.String("alg", pemfile.AlgES256, "RS256 (RSA 3072) or ES256 (P-256)")
	out := fs.String("out", "", "write the PKCS#8 PEM key to this file (mode 0600) instead of standard output")
	describe(fs, "cnsgate keys generate [--alg RS256|ES256] [--out FILE]",
		"A new token signing key for oidc.signing_keys (the first key listed signs, the others are published for rotation).")
	if code, ok := parseFlags(fs, args[1:], stdout); !ok {
		return code
	}
	pemKey, err := pemfile.GenerateKey(*alg)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate keys generate: %v\n", err)
		return 2
	}
	if *out == "" {
		_, err = stdout.Write(pemKey)
	} else {
		f, ferr := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if ferr != nil {
			if errors.Is(ferr, os.ErrExist) {
				ferr = fmt.Errorf("%s exists; a signing key is never overwritten", *out)
			}
			fmt.Fprintf(stderr, "cnsgate keys generate: %v\n", ferr)
			return 2
		}
		_, err = f.Write(pemKey)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate keys generate: %v\n", err)
		return 2
	}
	return 0
}
