package registry

import (
	"os/exec"
	"strings"
	"testing"
)

// The registry's types are what idp and its protocol packages speak of a
// registration; they must not drag the SQL store in with them.
func TestLayering(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("layering: no go command on PATH to list dependencies:", err)
	}
	for _, c := range []struct {
		pkg       string
		forbidden []string
	}{
		{"github.com/cnsgate/cnsgate/idp/registry", []string{"github.com/cnsgate/cnsgate/", "modernc.org/sqlite", "github.com/jackc/pgx"}},
		{"github.com/cnsgate/cnsgate/idp", []string{"github.com/cnsgate/cnsgate/idp/registry/sqlstore", "modernc.org/sqlite", "github.com/jackc/pgx"}},
	} {
		out, err := exec.Command(gobin, "list", "-deps", c.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", c.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == c.pkg {
				continue
			}
			for _, f := range c.forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", c.pkg, dep)
				}
			}
		}
	}
}
