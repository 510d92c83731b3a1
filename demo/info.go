package demo

import (
	"fmt"
	"html/template"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// The demo's footer pages, served by the demo process on the admin listener
// beside its CRLs: what a real administration publishes on its own site and
// names in web.links.
const (
	PrivacyPath       = "/demo/privacy"
	AccessibilityPath = "/demo/accessibilita"
	LegalPath         = "/demo/note-legali"
)

var infoPage = template.Must(template.New("info").Parse(`<!doctype html>
<html lang="it">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · cnsgate demo</title></head>
<body>
<main>
<h1>{{.Title}}</h1>
<p><strong>Pagina dimostrativa.</strong> {{.Text}}</p>
</main>
</body>
</html>
`))

var infoPages = map[string]struct{ Title, Text string }{
	PrivacyPath: {"Informativa sul trattamento dei dati personali",
		"Qui l'amministrazione che gestisce l'accesso con TS-CNS pubblica l'informativa prevista dall'articolo 13 del Regolamento (UE) 2016/679: " +
			"titolare del trattamento, dati trattati (codice fiscale, nome, cognome, numero della tessera, ente emittente, date degli accessi), " +
			"finalità, base giuridica, tempi di conservazione, diritti dell'interessato e come esercitarli. " +
			"La demo di cnsgate conserva questi dati solo sul computer in cui è avviata."},
	AccessibilityPath: {"Dichiarazione di accessibilità",
		"Qui l'amministrazione pubblica la dichiarazione di accessibilità compilata sulla piattaforma dell'AgID, con il meccanismo di feedback per segnalare i contenuti non accessibili."},
	LegalPath: {"Note legali",
		"Qui l'amministrazione pubblica le note legali del servizio: condizioni d'uso, diritti sui contenuti, responsabilità."},
}

// InfoHandlers returns the demo's privacy notice, accessibility statement
// and legal notes, by path.
func InfoHandlers() map[string]http.Handler {
	out := map[string]http.Handler{}
	for path, p := range infoPages {
		var b strings.Builder
		if err := infoPage.Execute(&b, p); err != nil {
			panic(fmt.Sprintf("demo: info page %s: %v", path, err)) // a fixed template and fixed texts
		}
		body := b.String()
		out[path] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
			_, _ = io.WriteString(w, body)
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
