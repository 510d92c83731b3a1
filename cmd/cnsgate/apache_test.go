package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/internal/docsnippet"
)

// apachePackages are the Debian packages of the Apache tests
// (scripts/test-setup.sh installs them).
const apachePackages = "apache2 libapache2-mod-auth-openidc"

// apacheModules is the directory of Debian's Apache modules.
const apacheModules = "/usr/lib/apache2/modules"

// apache is an Apache 2.4 of the test's own: its ServerRoot, configuration,
// logs and runtime files in a temporary directory, listening with TLS on a
// loopback port, stopped when the test ends.
type apache struct {
	t      *testing.T
	bin    string // the apache2 binary
	dir    string
	addr   string // 127.0.0.1:port
	origin string // https://localhost:port
	cmd    *exec.Cmd
}

// apacheConf is what the test puts into its Apache: Define lines, module
// names to load (mod_<name>.so) and the rest of the configuration.
type apacheConf struct {
	defines map[string]string
	modules []string
	body    string
}

// newApacheDir prepares the server root of an Apache on a free loopback
// port. The directory is readable by the unprivileged user Apache's
// workers run as when the test runs as root.
func newApacheDir(t *testing.T) *apache {
	t.Helper()
	bin, err := exec.LookPath("apache2")
	if err != nil {
		// Debian puts it in /usr/sbin, outside an ordinary user's PATH.
		bin = requireTool(t, "/usr/sbin/apache2", apachePackages)
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"logs", "run"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	return &apache{t: t, bin: bin, dir: dir, addr: addr, origin: "https://localhost:" + port}
}

// start writes httpd.conf and runs Apache in the foreground until the test
// ends; it returns once Apache accepts connections.
func (a *apache) start(c apacheConf, certFile, keyFile string) {
	a.t.Helper()
	for _, m := range c.modules {
		if _, err := os.Stat(filepath.Join(apacheModules, "mod_"+m+".so")); err != nil {
			if os.Getenv("CI") != "" {
				a.t.Fatalf("Apache module %s is missing (%v): apt-get install -y --no-install-recommends %s", m, err, apachePackages)
			}
			a.t.Skipf("Apache module %s is missing (%v): apt-get install -y --no-install-recommends %s", m, err, apachePackages)
		}
	}
	var b strings.Builder
	for k, v := range c.defines {
		fmt.Fprintf(&b, "Define %s %q\n", k, v)
	}
	fmt.Fprintf(&b, "ServerRoot %q\nDefaultRuntimeDir %q\nPidFile %q\n", a.dir, filepath.Join(a.dir, "run"), filepath.Join(a.dir, "run", "httpd.pid"))
	for _, m := range append([]string{"mpm_event", "authn_core", "authz_core", "authz_user", "ssl"}, c.modules...) {
		fmt.Fprintf(&b, "LoadModule %s_module %s\n", m, filepath.Join(apacheModules, "mod_"+m+".so"))
	}
	if os.Geteuid() == 0 {
		b.WriteString("User www-data\nGroup www-data\n")
	}
	fmt.Fprintf(&b, "ServerName localhost\nListen %s\nErrorLog %q\nLogLevel warn\n", a.addr, filepath.Join(a.dir, "logs", "error.log"))
	fmt.Fprintf(&b, "LogFormat \"%%h %%r %%>s\" short\nCustomLog %q short\n", filepath.Join(a.dir, "logs", "access.log"))
	fmt.Fprintf(&b, "SSLEngine on\nSSLCertificateFile %q\nSSLCertificateKeyFile %q\n", certFile, keyFile)
	b.WriteString(c.body)
	conf := filepath.Join(a.dir, "httpd.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		a.t.Fatal(err)
	}
	if out, err := exec.Command(a.bin, "-d", a.dir, "-f", conf, "-t").CombinedOutput(); err != nil {
		a.t.Fatalf("apache2 -t: %v\n%s\n%s", err, out, b.String())
	}
	a.cmd = exec.Command(a.bin, "-d", a.dir, "-f", conf, "-DFOREGROUND")
	var out bytes.Buffer
	a.cmd.Stdout, a.cmd.Stderr = &out, &out
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- a.cmd.Wait() }()
	a.t.Cleanup(func() { a.stop(exited) })
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", a.addr, time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			exited <- err
			a.t.Fatalf("apache2 exited: %v\n%s\n%s", err, out.String(), a.errorLog())
		default:
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("apache2 does not listen on %s:\n%s", a.addr, a.errorLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the Apache this test started (SIGTERM to its parent process,
// which stops its workers) and shows its error log when the test failed.
func (a *apache) stop(exited chan error) {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-exited
		a.t.Error("apache2 did not stop on SIGTERM")
	}
	if a.t.Failed() {
		a.t.Logf("apache error log:\n%s", a.errorLog())
	}
}

func (a *apache) errorLog() string {
	b, _ := os.ReadFile(filepath.Join(a.dir, "logs", "error.log"))
	return string(b)
}

// docSnippet returns the block of docs/relying-parties.md between the
// markers of name, without its code fence: the test runs exactly what the
// guide tells the reader to write.
func docSnippet(t *testing.T, name string) string {
	t.Helper()
	return docsnippet.Block(t, "relying-parties.md", name)
}
