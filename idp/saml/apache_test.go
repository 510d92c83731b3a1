package saml

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/internal/apachetest"
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
