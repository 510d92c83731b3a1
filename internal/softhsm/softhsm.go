package softhsm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Packages are the Debian packages the tokens need.
const Packages = "softhsm2 opensc"

// PIN and SOPIN of every test token.
const (
	PIN   = "12345678"
	SOPIN = "87654321"
)

// Token is an initialised SoftHSM2 token: Module is the PKCS#11 library,
// Label the token's label, PinFile a file holding its user PIN, Conf the
// SOFTHSM2_CONF that points at its directory (set in the process's
// environment by New).
type Token struct {
	Module  string
	Label   string
	PinFile string
	Conf    string
}

// Module finds the SoftHSM2 library; under CI its absence fails the test
// (naming the packages to install), elsewhere it skips.
func Module(t testing.TB) string {
	t.Helper()
	for _, g := range []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/*/softhsm/libsofthsm2.so"} {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return m[0]
		}
	}
	msg := "SoftHSM2 not found; apt-get install -y --no-install-recommends " + Packages
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// shared is the token of the process: SoftHSM2 reads its configuration
// and lists its tokens once, when the module is first initialised (and
// cnsgate keeps it so), so a test binary has one token, and its tests
// keys of their own labels in it.
var shared struct {
	sync.Once
	dir, conf string
	tok       *Token
	spare     *Token
	err       error
}

// New returns the token of the process, initialised at the first call,
// with SOFTHSM2_CONF set for the process. Callers give their keys labels
// of their own.
func New(t testing.TB) *Token {
	t.Helper()
	mod := Module(t)
	for _, tool := range []string{"softhsm2-util", "pkcs11-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: apt-get install -y --no-install-recommends %s", tool, Packages)
		}
	}
	shared.Do(func() {
		shared.dir, shared.conf, shared.err = setUp()
		if shared.err != nil {
			return
		}
		shared.tok = &Token{Module: mod, Label: "cnsgate", Conf: shared.conf, PinFile: filepath.Join(shared.dir, "pin")}
		if shared.err = os.WriteFile(shared.tok.PinFile, []byte(PIN+"\n"), 0o600); shared.err != nil {
			return
		}
		spare := *shared.tok
		spare.Label = "spare" // not "cnsgate-…": pkcs11-tool matches --token-label as a prefix
		shared.spare = &spare
		for _, tok := range []*Token{shared.tok, shared.spare} {
			if shared.err = tok.run("softhsm2-util", "--init-token", "--free", "--label", tok.Label, "--pin", PIN, "--so-pin", SOPIN); shared.err != nil {
				return
			}
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.tok
}

// Spare returns the second token of the process, made with the first:
// for the test of a login that fails, which needs a token that nothing in
// the process has logged in to yet (a token is logged in once per
// process).
func Spare(t testing.TB) *Token {
	t.Helper()
	New(t)
	return shared.spare
}

// setUp makes the process's token directory and configuration and points
// SOFTHSM2_CONF at it.
func setUp() (string, string, error) {
	dir, err := os.MkdirTemp("", "cnsgate-softhsm-")
	if err != nil {
		return "", "", err
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return "", "", err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		return "", "", err
	}
	return dir, conf, os.Setenv("SOFTHSM2_CONF", conf)
}

// Cleanup removes the process's token directory; a TestMain calls it
// after m.Run.
func Cleanup() {
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
}

// GenerateKey makes a key pair inside the token: keyType is pkcs11-tool's
// (rsa:3072, EC:prime256v1), label its CKA_LABEL, id its CKA_ID in hex.
func (tok *Token) GenerateKey(t testing.TB, keyType, label, id string) {
	t.Helper()
	if err := tok.run("pkcs11-tool", "--module", tok.Module, "--token-label", tok.Label, "--login", "--pin", PIN,
		"--keypairgen", "--key-type", keyType, "--label", label, "--id", id); err != nil {
		t.Fatal(err)
	}
}

// WrongPinFile returns a PIN file holding a PIN that is not the token's.
func (tok *Token) WrongPinFile(t testing.TB) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "wrong-pin")
	if err := os.WriteFile(f, []byte("00000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (tok *Token) run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+tok.Conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// String names the token.
func (tok *Token) String() string { return fmt.Sprintf("SoftHSM2 token %q", tok.Label) }
