package demo

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/cnsgate/cnsgate/idp/web"
)

// The demo's footer pages, served by the demo process on the admin listener
// beside its CRLs: what a real administration publishes on its own site and
// names in web.links.
const (
	PrivacyPath       = "/demo/privacy"
	AccessibilityPath = "/demo/accessibilita"
	LegalPath         = "/demo/note-legali"
)

// infoPages are the footer's pages, by path.
var infoPages = map[string]web.InfoPage{
	PrivacyPath:       {TitleKey: "info.privacy.title", TextKey: "info.privacy.text"},
	AccessibilityPath: {TitleKey: "info.accessibility.title", TextKey: "info.accessibility.text"},
	LegalPath:         {TitleKey: "info.legal.title", TextKey: "info.legal.text"},
}

// InfoHandlers returns the demo's privacy notice, accessibility statement
// and legal notes, by path, in the visitor's language (idp/web).
func InfoHandlers() map[string]http.Handler {
	pages, err := web.New()
	if err != nil {
		panic(fmt.Sprintf("demo: info pages: %v", err)) // the embedded templates: a build mistake
	}
	out := map[string]http.Handler{}
	for path, p := range infoPages {
		out[path] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = pages.RenderInfo(w, r, p) // a fixed template and fixed texts
		})
	}
	return out
}

// demoLogo is the demo administration's emblem: a plain shield, no text.
const demoLogo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
<path d="M32 4 L56 12 V30 C56 45 46 55 32 60 C18 55 8 45 8 30 V12 Z" fill="#ffffff"/>
<path d="M32 10 L50 16 V30 C50 41 43 49 32 54 C21 49 14 41 14 30 V16 Z" fill="#0066cc"/>
<path d="M22 30 L29 37 L43 23" fill="none" stroke="#ffffff" stroke-width="5" stroke-linecap="round" stroke-linejoin="round"/>
</svg>
`

// writeLogo writes the demo's logo (web.brand.logo_file) and returns its
// path.
func (s *Setup) writeLogo() (string, error) {
	dir := filepath.Join(s.Dir, "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "logo.svg")
	return path, os.WriteFile(path, []byte(demoLogo), 0o644)
}
