package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnsgate/cnsgate/internal/apachetest"
	"github.com/cnsgate/cnsgate/internal/docsnippet"
)

// apachePackages are the Debian packages of the Apache tests beyond apache2
// (scripts/test-setup.sh installs them).
const apachePackages = "libapache2-mod-auth-openidc"

// apache is an Apache 2.4 of the test's own (internal/apachetest): its
// ServerRoot, configuration, logs and runtime files in a temporary
// directory, listening with TLS on a loopback port, stopped when the test
// ends.
type apache struct {
	t      *testing.T
	dir    string
	addr   string // 127.0.0.1:port
	origin string // https://localhost:port
	srv    *apachetest.Server
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
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	return &apache{t: t, dir: dir, addr: addr, origin: "https://localhost:" + port}
}

// start writes httpd.conf and runs Apache with TLS in the foreground until
// the test ends; it returns once Apache accepts connections.
func (a *apache) start(c apacheConf, certFile, keyFile string) {
	a.t.Helper()
	a.srv = apachetest.Start(a.t, apachetest.Config{
		Dir: a.dir, Addr: a.addr, Modules: c.modules, Packages: apachePackages,
		Defines: c.defines, CertFile: certFile, KeyFile: keyFile, Body: c.body,
	})
}

func (a *apache) errorLog() string { return a.srv.ErrorLog() }

// docSnippet returns the block of docs/relying-parties.md between the
// markers of name, without its code fence: the test runs exactly what the
// guide tells the reader to write.
func docSnippet(t *testing.T, name string) string {
	t.Helper()
	return docsnippet.Block(t, "relying-parties.md", name)
}
