package idp_test

import (
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// testSite is a deployment's header and footer, in Europe/Rome.
func testSite(t *testing.T) *web.Site {
	t.Helper()
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	return &web.Site{
		Brand:    web.Brand{Name: "Regione Esempio", URL: "https://www.regione.example.it/", Logo: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), LogoType: "image/svg+xml"},
		Links:    web.Links{Accessibility: "https://form.agid.gov.it/view/x", Privacy: "https://www.regione.example.it/privacy", Legal: "https://www.regione.example.it/note-legali"},
		Help:     web.Help{Phone: "800 000 000", Hours: "lunedì-venerdì 8:30-17:30", Email: "assistenza@regione.example.it", Middleware: "https://www.regione.example.it/software"},
		Location: rome,
	}
}

// getLang fetches u in a language.
func (b *browser) getLang(u, lang string) page {
	b.h.t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		b.h.t.Fatal(err)
	}
	req.Header.Set("Accept-Language", lang)
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return readPage(b.h.t, resp)
}

func (p page) mustNot(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(p.body, s) {
			t.Fatalf("%s shows %q:\n%s", p.url, s, p.body)
		}
	}
}

// TestNotFoundPage: an unknown address on either origin is a page of
// cnsgate's, in the citizen's language, with a title and a way back, never
// Go's plain "404 page not found".
func TestNotFoundPage(t *testing.T) {
	h := newHarness(t, backends[0], harnessOptions{site: testSite(t)})
	br := h.browser(nil)
	for _, origin := range []string{h.public.URL, h.cns.URL} {
		br.getLang(origin+"/no/such/page", "it").must(t, 404, `<html lang="it">`, "<title>Pagina non trovata", "Torna alla pagina iniziale",
			`href="`+h.public.URL+`/"`, "Regione Esempio").mustNot(t, "404 page not found")
		br.getLang(origin+"/no/such/page", "en-GB,en;q=0.9").must(t, 404, `<html lang="en">`, "<title>Page not found", "Back to the home page")
	}
	// The pages' own routes still answer.
	br.get(h.public.URL+"/").must(t, 200, "Accedi con TS/CNS")
}

// TestSiteHeaderFooterAndConsent: the administration in the header, "Esci"
// there once logged in, the footer's links and help desk, the privacy
// notice beside the registration consent, the logo and the fonts served.
func TestSiteHeaderFooterAndConsent(t *testing.T) {
	h := newHarness(t, backends[0], harnessOptions{site: testSite(t)})
	card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S", GivenName: "MARIO", FamilyName: "ROSSI"})
	br := h.browser(card)

	home := br.get(h.public.URL + "/")
	home.must(t, 200, `href="https://www.regione.example.it/">Regione Esempio</a>`, `src="/static/brand/logo"`,
		`href="https://form.agid.gov.it/view/x">Dichiarazione di accessibilità`, `href="https://www.regione.example.it/privacy">Privacy`,
		`href="https://www.regione.example.it/note-legali">Note legali`, `href="tel:800000000">800 000 000</a> (lunedì-venerdì 8:30-17:30)`,
		`href="mailto:assistenza@regione.example.it"`, "Scarica il software della tessera", "Vai al contenuto principale",
		"/static/bootstrap-italia/bootstrap-italia.min.css")
	home.mustNot(t, `class="btn btn-primary btn-sm cg-logout"`) // no "Esci" without a session

	register := br.get(h.cns.URL + "/cns/login")
	register.must(t, 200, `<p id="privacy-notice">`, `<a href="https://www.regione.example.it/privacy">informativa sul trattamento dei dati personali</a>`,
		`aria-describedby="privacy-notice"`)

	for _, origin := range []string{h.public.URL, h.cns.URL} {
		for path, ctype := range map[string]string{
			"/static/brand/logo": "image/svg+xml",
			"/static/fonts/titillium-web-v10-latin-ext_latin-regular.woff2": "font/woff2",
			"/static/bootstrap-italia/bootstrap-italia.min.css":             "text/css; charset=utf-8",
			"/static/cnsgate.css": "text/css; charset=utf-8",
		} {
			resp, err := br.c.Get(origin + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ctype || len(body) == 0 {
				t.Errorf("%s%s: %d %q, %d bytes", origin, path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
			}
		}
	}

	h.register(br)
	welcome := h.login(br)
	welcome.must(t, 200, "Ti diamo il benvenuto", `class="btn btn-primary btn-sm cg-logout" href="`+h.public.URL+`/logout">Esci</a>`)
	welcome.mustNot(t, "Benvenuto,")
	confirm := br.get(h.public.URL + "/logout")
	confirm.must(t, 200, "Vuoi uscire?", `<a class="btn btn-outline-primary" href="`+h.public.URL+`/">Annulla</a>`)
}

// TestRecentAccessesTellTheTruth: the card's visit before its registration
// is no failed access, and times are the site's (Europe/Rome), not the
// server's.
func TestRecentAccessesTellTheTruth(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			site := testSite(t)
			h := newHarness(t, b, harnessOptions{site: site})
			card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S", GivenName: "MARIO", FamilyName: "ROSSI"})
			br := h.browser(card)
			before := time.Now()
			h.register(br) // the card's first visit is audited as not_registered
			welcome := h.login(br)
			welcome.must(t, 200, "Ultimi accessi", "Accesso riuscito")
			welcome.mustNot(t, "Accesso non riuscito", web.ReasonMessage(web.Italian, "not_registered"))
			// The access was just now: written in Rome's time, with Rome's
			// offset in the datetime attribute.
			var found bool
			body := html.UnescapeString(welcome.body)
			for _, at := range []time.Time{before, time.Now()} {
				rome := at.In(site.Location)
				if strings.Contains(body, `datetime="`+rome.Format("2006-01-02T15:04")) &&
					strings.Contains(body, ">"+rome.Format("02/01/2006 15:04")+"</time>") &&
					strings.Contains(body, rome.Format("Z07:00")+`">`) {
					found = true
				}
			}
			if !found {
				t.Fatalf("the recent accesses are not in Europe/Rome (now %s there):\n%s", time.Now().In(site.Location).Format(time.RFC3339), welcome.body)
			}
			welcome.getEnglish(t, br)
		})
	}
}

// getEnglish: the same welcome page in English.
func (p page) getEnglish(t *testing.T, br *browser) {
	t.Helper()
	br.getLang(p.url.String(), "en").must(t, 200, `<html lang="en">`, "Recent accesses", "Logged in").mustNot(t, "Login failed")
}
