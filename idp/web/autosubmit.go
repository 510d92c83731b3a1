package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// autoSubmitScript is the only script any page runs: autosubmit.html holds
// it verbatim and the page's Content-Security-Policy allows it by hash.
// Without JavaScript the citizen presses the form's button.
const autoSubmitScript = `document.forms[0].submit()`

var autoSubmitHash = func() string {
	sum := sha256.Sum256([]byte(autoSubmitScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// Field is one hidden input of an auto-submitting form.
type Field struct{ Name, Value string }

// Form is a protocol answer the browser carries to a relying party by POST:
// an OIDC form_post response, a SAML message in the HTTP-POST binding.
type Form struct {
	// Action is where the form posts. html/template neutralises a scheme
	// other than http, https or mailto unless TrustAction is set, for an
	// address the relying party registered (a native application's
	// private-use scheme).
	Action      string
	TrustAction bool
	Fields      []Field
}

// formData is the data of autosubmit.html.
type formData struct {
	Lang     Lang
	Title    string
	Action   any
	Fields   []Field
	LoggedIn bool
}

// checkAutoSubmit fails when autosubmit.html no longer holds the script
// whose hash the Content-Security-Policy allows.
func checkAutoSubmit() error {
	b, err := templateFS.ReadFile("templates/autosubmit.html")
	if err != nil {
		return fmt.Errorf("web: autosubmit.html: %w", err)
	}
	if !strings.Contains(string(b), "<script>"+autoSubmitScript+"</script>") {
		return fmt.Errorf("web: autosubmit.html does not hold the script its policy allows")
	}
	return nil
}

// RenderForm writes the auto-submitting form f in the request's language.
// The page may post only to f.Action's origin and run only its own script.
func (p *Pages) RenderForm(w http.ResponseWriter, r *http.Request, f Form) error {
	lang := LangFrom(r)
	data := formData{Lang: lang, Title: lang.T("form.title"), Action: f.Action, Fields: f.Fields}
	if f.TrustAction {
		data.Action = template.URL(f.Action)
	}
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, "autosubmit.html", data); err != nil {
		return fmt.Errorf("web: render autosubmit.html: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; font-src 'self' data:; img-src 'self' data:; script-src "+autoSubmitHash+
		"; form-action "+formAction(f.Action)+"; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}

// formAction is the CSP source of the one place a form may post to: the
// action's origin, its scheme alone for an address without a host, this
// origin for a relative one.
func formAction(action string) string {
	u, err := url.Parse(action)
	switch {
	case err != nil || u.Scheme == "":
		return "'self'"
	case u.Host == "":
		return u.Scheme + ":"
	default:
		return u.Scheme + "://" + u.Host
	}
}
