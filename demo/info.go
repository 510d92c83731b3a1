package demo

import (
	"fmt"
	"html/template"
	"io"
	"net/http"
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
