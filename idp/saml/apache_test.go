package saml

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/cnsgate/cnsgate/internal/apachetest"
	"github.com/cnsgate/cnsgate/internal/freeport"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// Debian's Apache, which the mod_auth_mellon and Shibboleth SP tests run
// an instance of their own of.
const (
	apacheBinary = apachetest.Binary
	apacheMods   = apachetest.ModulesDir
)

// startApache runs an Apache of its own in dir, listening on base, with
// the modules extra and the configuration body, and a CGI directory
// dir/cgi under /private/; it returns once ready answers 200. The test's
// end stops it.
func startApache(t *testing.T, dir, base string, extra []string, body, ready string) {
	t.Helper()
	apachetest.Start(t, apachetest.Config{
		Dir: dir, Addr: strings.TrimPrefix(base, "http://"), MPM: "prefork",
		Modules: append([]string{"alias", "cgi"}, extra...),
		Body: fmt.Sprintf(`DocumentRoot %[1]s/htdocs
<Directory />
    AllowOverride None
</Directory>
ScriptAlias /private/ %[1]s/cgi/
`, dir) + body,
		Ready: func() bool {
			resp, err := http.Get(base + ready)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		},
	})
}

// apacheSP is what the SPs in an Apache of their own (mod_auth_mellon,
// Shibboleth) share: a base URL on a free loopback port, and a directory
// Apache's workers (www-data) can read holding the SP's key pair and
// metadata (from metadata, given Base and Cert), htdocs/loggedout.html and
// the CGI cgi/env that prints what the module exports.
type apacheSP struct {
	base, dir string
}

func newApacheSP(t *testing.T, name string, metadata *template.Template) *apacheSP {
	t.Helper()
	port, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	a := &apacheSP{base: fmt.Sprintf("http://127.0.0.1:%d", port), dir: t.TempDir()}
	for _, d := range []string{filepath.Dir(a.dir), a.dir, filepath.Join(a.dir, "cgi"), filepath.Join(a.dir, "htdocs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key := cnstest.MustKey(2048)
	cert := selfSigned(t, key, name)
	a.write(t, "sp.key", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)))
	a.write(t, "sp.crt", pemBlock("CERTIFICATE", cert.Raw))
	var md bytes.Buffer
	if err := metadata.Execute(&md, map[string]string{"Base": a.base, "Cert": base64.StdEncoding.EncodeToString(cert.Raw)}); err != nil {
		t.Fatal(err)
	}
	a.write(t, "sp-metadata.xml", md.Bytes())
	a.write(t, "htdocs/loggedout.html", []byte("<p>logged out of "+name+"</p>\n"))
	a.write(t, "cgi/env", []byte("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv | sort\n"))
	if err := os.Chmod(filepath.Join(a.dir, "cgi/env"), 0o755); err != nil {
		t.Fatal(err)
	}
	return a
}

// write writes a file of the SP's directory, readable by Apache's workers.
func (a *apacheSP) write(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(a.dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
