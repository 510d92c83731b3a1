package webpage

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"unicode"
)

// Set is the parsed pages of an application, by file name.
type Set map[string]*template.Template

// Parse parses each named page of fsys's templates/ directory together with
// templates/layout.html; app names the application in errors.
func Parse(fsys fs.FS, app string, names ...string) (Set, error) {
	out := Set{}
	for _, name := range names {
		t, err := template.ParseFS(fsys, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("%s: template %s: %w", app, name, err)
		}
		out[name] = t
	}
	return out, nil
}

// Render writes page name with data: rendered into a buffer first (a
// template error never sends half a page), then with no caching (pages show
// personal data), no framing and nothing from third parties.
func (s Set) Render(w http.ResponseWriter, logger *slog.Logger, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s[name].ExecuteTemplate(&buf, name, data); err != nil {
		logger.Error("page not rendered", "page", name, "err", err)
		http.Error(w, "errore interno", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// SharedCSS is the path of the layout every example page links first,
// before its application's own stylesheet (its colours).
const SharedCSS = "/static/webpage.css"

//go:embed static/webpage.css
var sharedFS embed.FS

// Static serves fsys's static/ directory under /static/, and SharedCSS
// from this package.
func Static(fsys fs.FS) http.Handler {
	app, shared := staticDir(fsys), staticDir(sharedFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == SharedCSS {
			shared.ServeHTTP(w, r)
			return
		}
		app.ServeHTTP(w, r)
	})
}

func staticDir(fsys fs.FS) http.Handler {
	sub, err := fs.Sub(fsys, "static")
	if err != nil {
		panic(err) // fsys is embedded: a missing directory is a build mistake
	}
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}

// DisplayName writes a name read from a card (usually upper case) the way a
// page shows it: "D'ANGELO MARIA" becomes "D'Angelo Maria".
func DisplayName(s string) string {
	var b strings.Builder
	upper := true
	for _, r := range strings.ToLower(s) {
		if upper {
			b.WriteRune(unicode.ToUpper(r))
		} else {
			b.WriteRune(r)
		}
		upper = r == ' ' || r == '\'' || r == '-'
	}
	return b.String()
}
