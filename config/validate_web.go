package config

import (
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "time/tzdata" // web.timezone resolves on a host without a zone database (a scratch container)
)

// logoExtensions are the image types web.brand.logo_file may be.
var logoExtensions = []string{".png", ".svg", ".jpg", ".jpeg", ".webp"}

func (w Web) validate(p *problems) {
	const s = "web"
	if _, err := time.LoadLocation(w.Timezone); err != nil || w.Timezone == "" || strings.EqualFold(w.Timezone, "local") {
		p.add(s, "option 'timezone' must be an IANA time zone such as 'Europe/Rome' but it's configured as '%s'", w.Timezone)
	}
	urls := []struct{ section, key, v string }{
		{"web.brand", "url", w.Brand.URL},
		{"web.links", "accessibility", w.Links.Accessibility},
		{"web.links", "privacy", w.Links.Privacy},
		{"web.links", "legal", w.Links.Legal},
		{"web.help", "middleware_url", w.Help.MiddlewareURL},
		{"web.help", "drivers_url", w.Help.DriversURL},
	}
	for _, u := range urls {
		if u.v != "" {
			absURL(p, u.section, u.key, u.v, httpURL)
		}
	}
	if e := w.Help.Email; e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			p.add("web.help", "option 'email' must be a plain e-mail address such as 'assistenza@example.it' but it's configured as '%s'", e)
		}
	}
	if w.Help.Hours != "" && w.Help.Phone == "" {
		p.add("web.help", "option 'hours' needs 'phone': they are the phone line's hours")
	}
	w.Brand.validateLogo(p)
}

func (b WebBrand) validateLogo(p *problems) {
	const s = "web.brand"
	if b.LogoFile == "" {
		return
	}
	if !slices.Contains(logoExtensions, strings.ToLower(filepath.Ext(b.LogoFile))) {
		p.add(s, "option 'logo_file' must be a .png, .svg, .jpg or .webp image but it's configured as '%s'", b.LogoFile)
		return
	}
	switch fi, err := os.Stat(b.LogoFile); {
	case err != nil:
		p.add(s, "option 'logo_file' names '%s', which cannot be read: %v", b.LogoFile, errors.Unwrap(err))
	case fi.IsDir():
		p.add(s, "option 'logo_file' names '%s', which is a directory", b.LogoFile)
	case fi.Size() > MaxLogoBytes:
		p.add(s, "option 'logo_file' names '%s' of %d bytes; at most %d", b.LogoFile, fi.Size(), MaxLogoBytes)
	}
}
