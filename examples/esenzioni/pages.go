package esenzioni

import (
	"embed"
	"net/http"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/esenzioni.css
var staticFS embed.FS

// pageNames are the pages; each is parsed with the layout and checked at
// start.
var pageNames = []string{"home.html", "account.html", "loggedout.html", "error.html"}

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

// render writes a page; see webpage.Set.Render.
func (a *App) render(w http.ResponseWriter, status int, name string, d pageData) {
	a.pages.Render(w, a.logger, status, name, d)
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
