package saml

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Debian's Apache, which the mod_auth_mellon and Shibboleth SP tests run
// an instance of their own of.
const (
	apacheBinary = "/usr/sbin/apache2"
	apacheMods   = "/usr/lib/apache2/modules"
)

// startApache runs an Apache of its own in dir, listening on base, with
// the modules extra and the configuration body, and a CGI directory
// dir/cgi under /private/; it returns once ready answers 200. The test's
// end stops it.
func startApache(t *testing.T, dir, base string, extra []string, body, ready string) *exec.Cmd {
	mods := ""
	for _, mod := range append([]string{"mpm_prefork", "authn_core", "authz_core", "authz_user", "alias", "cgi"}, extra...) {
		name := mod + "_module"
		if mod == "shib" {
			name = "mod_shib" // as Debian's shib.load names it
		}
		mods += fmt.Sprintf("LoadModule %s %s/mod_%s.so\n", name, apacheMods, mod)
	}
	hostPort := strings.TrimPrefix(base, "http://")
	conf := mods + fmt.Sprintf(`Listen %s
ServerName %s
PidFile %[3]s/httpd.pid
ErrorLog %[3]s/error.log
LogLevel warn
DefaultRuntimeDir %[3]s
Mutex file:%[3]s default
User www-data
Group www-data
DocumentRoot %[3]s/htdocs
<Directory />
    AllowOverride None
</Directory>
ScriptAlias /private/ %[3]s/cgi/
`, hostPort, hostPort, dir) + body
	if err := os.WriteFile(filepath.Join(dir, "httpd.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(apacheBinary, "-f", filepath.Join(dir, "httpd.conf"), "-DFOREGROUND")
	cmd.Env = append(os.Environ(), "APACHE_RUN_DIR="+dir, "APACHE_LOCK_DIR="+dir)
	// A process group of its own: Apache's prefork MPM signals its whole
	// group when it stops, which would otherwise include the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	errorLog := func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return out.String() + "\nerror.log:\n" + string(log)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("apache output:\n%s", errorLog())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Apache did not start: %v\n%s", err, errorLog())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
