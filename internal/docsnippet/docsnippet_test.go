package docsnippet

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestMarkersPaired: every snippet marker of the guides opens a fenced
// block that Find returns, and no name is used twice.
func TestMarkersPaired(t *testing.T) {
	open := regexp.MustCompile(`<!-- snippet: (.+?) \(`)
	for _, doc := range []string{"relying-parties.md", "saml-attributes.md"} {
		raw, err := os.ReadFile(filepath.Join(Docs(), doc))
		if err != nil {
			t.Fatal(err)
		}
		names := open.FindAllSubmatch(raw, -1)
		for _, m := range names {
			if _, err := Find(doc, string(m[1])); err != nil {
				t.Error(err)
			}
		}
		t.Logf("docs/%s: %d snippets", doc, len(names))
	}
	if _, err := Find("relying-parties.md", "no such snippet"); err == nil {
		t.Fatal("Find found a snippet that is not there")
	}
}
