package apachetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Debian's Apache.
const (
	Binary     = "/usr/sbin/apache2"
	ModulesDir = "/usr/lib/apache2/modules"
)

// startWait bounds the wait for Apache to be ready.
const startWait = 20 * time.Second

// Config is an Apache of a test's own.
type Config struct {
	Dir  string // the server root: httpd.conf, logs/ and run/ are written there
	Addr string // host:port it listens on (from internal/freeport)
	// MPM is "event" (the default) or "prefork" (what mod_cgi needs).
	MPM string
	// Modules are loaded (mod_<name>.so) after authn_core, authz_core and
	// authz_user; a missing one fails the test in CI and skips it
	// elsewhere, naming Packages.
	Modules  []string
	Packages string
	Defines  map[string]string // Define lines, first
	// CertFile and KeyFile, when set, make the listener TLS (mod_ssl).
	CertFile, KeyFile string
	Body              string // the rest of httpd.conf
	// Ready says whether Apache answers as the test needs; by default,
	// whether Addr accepts connections.
	Ready func() bool
}

// Server is a running Apache.
type Server struct {
	Dir, Addr string
	*Process
}

// ErrorLog returns Apache's error log so far.
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "logs", "error.log"))
	return string(b)
}

// Start writes c.Dir/httpd.conf, checks it with apache2 -t, runs Apache in
// the foreground until the test ends and returns once c.Ready holds.
func Start(t testing.TB, c Config) *Server {
	t.Helper()
	requireModules(t, c)
	for _, d := range []string{"logs", "run"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(c.Dir, "httpd.conf")
	text := c.conf()
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "APACHE_RUN_DIR="+filepath.Join(c.Dir, "run"), "APACHE_LOCK_DIR="+filepath.Join(c.Dir, "run"))
	check := exec.Command(Binary, "-d", c.Dir, "-f", conf, "-t")
	check.Env = env
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("apache2 -t: %v\n%s\n%s", err, out, text)
	}
	cmd := exec.Command(Binary, "-d", c.Dir, "-f", conf, "-DFOREGROUND")
	cmd.Env = env
	s := &Server{Dir: c.Dir, Addr: c.Addr}
	s.Process = StartProcess(t, "apache2", cmd, func() string { return "\nerror.log:\n" + s.ErrorLog() })
	ready := c.Ready
	if ready == nil {
		ready = func() bool { return accepts(c.Addr) }
	}
	for deadline := time.Now().Add(startWait); !ready(); time.Sleep(50 * time.Millisecond) {
		if err, ok := s.Exited(); ok {
			t.Fatalf("apache2 exited: %v\n%s\n%s", err, s.Output(), s.ErrorLog())
		}
		if time.Now().After(deadline) {
			t.Fatalf("apache2 not ready on %s within %v:\n%s", c.Addr, startWait, s.ErrorLog())
		}
	}
	return s
}

func accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// modules returns every module c loads, the MPM first.
func (c Config) modules() []string {
	mpm := c.MPM
	if mpm == "" {
		mpm = "event"
	}
	mods := []string{"mpm_" + mpm, "authn_core", "authz_core", "authz_user"}
	if c.CertFile != "" {
		mods = append(mods, "ssl")
	}
	return append(mods, c.Modules...)
}

func requireModules(t testing.TB, c Config) {
	t.Helper()
	for _, m := range append([]string{""}, c.modules()...) {
		f := Binary
		if m != "" {
			f = filepath.Join(ModulesDir, "mod_"+m+".so")
		}
		if _, err := os.Stat(f); err != nil {
			msg := fmt.Sprintf("Apache or its module %s is missing (%v): apt-get install -y --no-install-recommends apache2 %s (scripts/test-setup.sh does it)", m, err, c.Packages)
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// conf is the text of httpd.conf.
func (c Config) conf() string {
	var b strings.Builder
	for k, v := range c.Defines {
		fmt.Fprintf(&b, "Define %s %q\n", k, v)
	}
	run := filepath.Join(c.Dir, "run")
	fmt.Fprintf(&b, "ServerRoot %q\nDefaultRuntimeDir %q\nPidFile %q\nMutex file:%s default\n", c.Dir, run, filepath.Join(run, "httpd.pid"), run)
	for _, m := range c.modules() {
		name := m + "_module"
		if m == "shib" {
			name = "mod_shib" // as Debian's shib.load names it
		}
		fmt.Fprintf(&b, "LoadModule %s %s\n", name, filepath.Join(ModulesDir, "mod_"+m+".so"))
	}
	if os.Geteuid() == 0 {
		b.WriteString("User www-data\nGroup www-data\n")
	}
	fmt.Fprintf(&b, "ServerName %s\nListen %s\nErrorLog %q\nLogLevel warn\n", serverName(c), c.Addr, filepath.Join(c.Dir, "logs", "error.log"))
	fmt.Fprintf(&b, "LogFormat \"%%h %%r %%>s\" short\nCustomLog %q short\n", filepath.Join(c.Dir, "logs", "access.log"))
	if c.CertFile != "" {
		fmt.Fprintf(&b, "SSLEngine on\nSSLCertificateFile %q\nSSLCertificateKeyFile %q\n", c.CertFile, c.KeyFile)
	}
	b.WriteString(c.Body)
	return b.String()
}

// serverName is localhost for TLS (the demo's server certificate names
// it), else the listen address.
func serverName(c Config) string {
	if c.CertFile != "" {
		return "localhost"
	}
	return c.Addr
}
