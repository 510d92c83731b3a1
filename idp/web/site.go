package web

import (
	"html/template"
	"net/http"
	"path"
	"strings"
	"time"
)

// Site is what every page shows around its content: the administration
// that runs cnsgate in the header, and in the footer the links every
// Italian public-administration service publishes (accessibility
// statement, privacy notice, legal notes) and the help desk's contacts.
// Every field is optional: a page leaves out what is not set.
type Site struct {
	Brand Brand
	Links Links
	Help  Help
	// Home is the public origin's welcome page ("/" when empty): the header
	// links to it, "Esci" and the 404 page lead back to it.
	Home string
	// Location is the time zone of the times the pages show (Europe/Rome
	// for cnsgate's users); UTC when nil.
	Location *time.Location
}

// Brand is the administration named in the header.
type Brand struct {
	Name string // "Regione Toscana"
	URL  string // the administration's site, linked from "Name" in the slim header
	// Logo is an image file's content (PNG, SVG, JPEG or WebP), served at
	// LogoPath; LogoType is its Content-Type.
	Logo     []byte
	LogoType string
}

// LogoPath is where a configured logo is served, on both origins.
const LogoPath = "/static/brand/logo"

// Links are the footer's links.
type Links struct {
	Accessibility string // "Dichiarazione di accessibilità"
	Privacy       string // "Privacy": the information notice (GDPR art. 13), also linked from the registration consent
	Legal         string // "Note legali"
}

// Help is the help desk the footer and the refusal pages name.
type Help struct {
	Phone      string
	Hours      string // "lun-ven 8:30-17:30"
	Email      string
	Middleware string // where to download the card's software (middleware)
	Drivers    string // where to download the card reader's drivers
}

// Any reports whether the help desk has any contact.
func (h Help) Any() bool {
	return h.Phone != "" || h.Email != "" || h.Middleware != "" || h.Drivers != ""
}

// PhoneURI is Phone as a tel: address: its digits, and a leading "+".
// Nothing else reaches the address, so html/template may take it as is.
func (h Help) PhoneURI() template.URL {
	var b strings.Builder
	for i, r := range strings.TrimSpace(h.Phone) {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	return template.URL("tel:" + b.String())
}

// LogoTypeOf returns the Content-Type of a logo file by its extension, or ""
// for one cnsgate does not serve.
func LogoTypeOf(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".png":
		return "image/png"
	case ".svg":
		return "image/svg+xml"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".webp":
		return "image/webp"
	}
	return ""
}

// home is the welcome page's address.
func (s Site) home() string {
	if s.Home == "" {
		return "/"
	}
	return strings.TrimRight(s.Home, "/") + "/"
}

// local returns t in the site's time zone.
func (s Site) local(t time.Time) time.Time {
	if s.Location == nil {
		return t.UTC()
	}
	return t.In(s.Location)
}

// Local returns t in the time zone of the pages' times (Site.Location).
func (p *Pages) Local(t time.Time) time.Time { return p.site.local(t) }

// Static serves the embedded assets and the administration's logo.
func (p *Pages) Static() http.Handler {
	files := Static()
	logo := p.site.Brand
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if "/static/"+strings.TrimPrefix(r.URL.Path, "/") == LogoPath && len(logo.Logo) > 0 {
			h := w.Header()
			h.Set("Content-Type", logo.LogoType)
			h.Set("X-Content-Type-Options", "nosniff")
			// An SVG opened on its own runs nothing and embeds nothing.
			h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
			h.Set("Cache-Control", "public, max-age=3600")
			_, _ = w.Write(logo.Logo)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// Site returns the header and footer the pages show.
func (p *Pages) Site() Site { return p.site }
