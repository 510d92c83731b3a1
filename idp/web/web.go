package web

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// required lists every page the flows render; New fails when one is missing
// so that a broken build never reaches a citizen.
var required = []string{"home.html", "error.html", "register.html", "registered.html", "welcome.html", "loggedout.html", "logout.html", "autosubmit.html", "confirm.html", "notme.html", "release.html", "account.html", "account_confirm.html", "account_done.html", "info.html",
	"console_login.html", "console_dashboard.html", "console_revocation.html", "console_audit.html", "console_citizen.html"}

// Pages renders the embedded templates.
type Pages struct {
	t      *template.Template
	site   Site
	frames *frames // RenderFramed's pages (framed.go)
}

// New parses and checks the embedded templates, with no administration
// named and no footer links (NewSite sets them).
func New() (*Pages, error) { return NewSite(Site{}) }

// NewSite parses and checks the embedded templates; every page shows site's
// header and footer.
func NewSite(site Site) (*Pages, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"t":     func(lang Lang, key string) string { return lang.T(key) },
		"name":  DisplayName,
		"site":  func() Site { return site },
		"home":  site.home,
		"local": site.local,
		"logo":  func() string { return LogoPath },
		// The console's (console_parts.html).
		"add":       func(a, b int) int { return a + b },
		"chartData": func(lang Lang, c Chart) chartData { return chartData{Lang: lang, Chart: c} },
		"fmtTime":   func(t time.Time) string { return t.Format("02/01/2006 15:04:05") },
	}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	for _, name := range required {
		if t.Lookup(name) == nil {
			return nil, fmt.Errorf("web: template %s is missing", name)
		}
	}
	if err := checkAutoSubmit(); err != nil {
		return nil, err
	}
	return &Pages{t: t, site: site, frames: newFrames()}, nil
}

// Static serves the embedded assets (stylesheet).
func Static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.FileServer(http.FS(sub))
}

// Render writes page name with data and status. The page is rendered into
// a buffer first, so a template error never sends half a page.
func (p *Pages) Render(w http.ResponseWriter, status int, name string, data any) error {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := p.t.ExecuteTemplate(buf, name, data); err != nil {
		http.Error(w, "Errore interno / Internal error", http.StatusInternalServerError)
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	return p.write(w, status, buf)
}

// write sends a rendered page with the headers of every page, in one Write.
func (p *Pages) write(w http.ResponseWriter, status int, buf *bytes.Buffer) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: under no-referrer browsers send
	// "Origin: null" on form POSTs, which the CSRF origin check refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; font-src 'self' data:; img-src 'self' data:; form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// renderBuffers keeps the buffers pages are rendered into: a page is 5 to
// 10 KB, and growing a new buffer for each one (four doublings) was most of
// what rendering allocated. ResponseWriter.Write copies the bytes, so the
// buffer is free again when Render returns; the page itself is never kept.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putRenderBuffer empties buf and keeps it for the next page, unless a
// rare big page grew it beyond what is worth keeping.
func putRenderBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 64<<10 {
		return
	}
	buf.Reset()
	renderBuffers.Put(buf)
}

// Lang is a page language.
type Lang string

// The supported languages; Italian first.
const (
	Italian Lang = "it"
	English Lang = "en"
)

// langKey is the context key of a language chosen for the request.
type langKey struct{}

// WithLang returns ctx choosing lang for every page rendered in it, before
// Accept-Language: the language a relying party asked for with OIDC
// ui_locales, carried through the login. An unsupported lang changes
// nothing.
func WithLang(ctx context.Context, lang Lang) context.Context {
	if _, ok := texts[lang]; !ok {
		return ctx
	}
	return context.WithValue(ctx, langKey{}, lang)
}

// LangOf returns the supported language of a BCP 47 tag ("en", "en-GB",
// "IT"), "" when it names neither.
func LangOf(tag string) Lang {
	tag = strings.ToLower(strings.TrimSpace(tag))
	switch {
	case tag == "it" || strings.HasPrefix(tag, "it-"):
		return Italian
	case tag == "en" || strings.HasPrefix(tag, "en-"):
		return English
	}
	return ""
}

// LocalesLang returns the first supported language of a space-separated
// list of BCP 47 tags in order of preference (ui_locales: "en-GB it"), and
// false when the list names none.
func LocalesLang(locales string) (Lang, bool) {
	for _, tag := range strings.Fields(locales) {
		if l := LangOf(tag); l != "" {
			return l, true
		}
	}
	return "", false
}

// LangFrom picks the page language: the one chosen for the request
// (WithLang), else from Accept-Language the supported language with the
// highest q-value (the first listed on a tie), Italian when the header
// names neither.
func LangFrom(r *http.Request) Lang {
	if l, ok := r.Context().Value(langKey{}).(Lang); ok {
		return l
	}
	best, bestQ := Italian, -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		fields := strings.Split(part, ";")
		lang := LangOf(fields[0])
		if lang == "" {
			continue
		}
		q := 1.0
		for _, f := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "q="); ok {
				if parsed, err := strconv.ParseFloat(v, 64); err == nil && parsed >= 0 && parsed <= 1 {
					q = parsed
				}
			}
		}
		if q > bestQ && q > 0 {
			best, bestQ = lang, q
		}
	}
	return best
}

// T returns the text for key in the language, falling back to Italian and
// then to the key itself.
func (l Lang) T(key string) string {
	if s, ok := texts[l][key]; ok {
		return s
	}
	if s, ok := texts[Italian][key]; ok {
		return s
	}
	return key
}

// DisplayName writes a name read from a card (usually upper case: "MARIA
// D'ANGELO-ROSSI") as people write it ("Maria D'Angelo-Rossi"): a capital
// after a space, an apostrophe or a hyphen, small letters elsewhere.
func DisplayName(s string) string {
	var b strings.Builder
	upper := true
	for _, r := range strings.ToLower(s) {
		if upper {
			b.WriteString(strings.ToUpper(string(r)))
		} else {
			b.WriteRune(r)
		}
		upper = r == ' ' || r == '\'' || r == '-' || r == '’'
	}
	return b.String()
}
