package esenzioni

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/esenzioni.css
var staticFS embed.FS

// pageNames are the pages; each is parsed with the layout and checked at
// start.
var pageNames = []string{"home.html", "account.html", "loggedout.html", "error.html"}

type pages map[string]*template.Template

func parsePages() (pages, error) {
	out := pages{}
	for _, name := range pageNames {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("esenzioni: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// pageData is what every page may show.
type pageData struct {
	Title      string
	Message    string
	LoginPath  string
	LogoutPath string
	CSRF       string
	FiscalCode string
	FullName   string
	Exemptions []Exemption
}

// render writes a page with the headers every page gets: no caching
// (pages show personal data), no framing, no third-party anything.
func (a *App) render(w http.ResponseWriter, status int, name string, d pageData) {
	var buf bytes.Buffer
	if err := a.pages[name].ExecuteTemplate(&buf, name, d); err != nil {
		a.logger.Error("page not rendered", "page", name, "err", err)
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

// fail shows the error page with a fixed message for the citizen; the log
// has the detail.
func (a *App) fail(w http.ResponseWriter, r *http.Request, status int, message, detail string, err error) {
	if err != nil {
		a.logger.WarnContext(r.Context(), "esenzioni: "+detail, "err", err)
	} else {
		a.logger.WarnContext(r.Context(), "esenzioni: "+detail)
	}
	a.render(w, status, "error.html", pageData{Title: "Accesso non riuscito", Message: message})
}

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}
