package saml

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/web"
)

// autoSubmit is the only script the form page runs; the page sends it by
// hash in its Content-Security-Policy. Without JavaScript the citizen
// presses the button.
const autoSubmit = `document.forms[0].submit()`

var autoSubmitHash = func() string {
	sum := sha256.Sum256([]byte(autoSubmit))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var formPage = template.Must(template.New("form").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title><link rel="stylesheet" href="/static/cnsgate.css"></head>
<body><main id="main">
<form method="post" action="{{.Action}}">
{{- range .Fields}}
<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">{{end}}
<p>{{.Text}}</p>
<button type="submit">{{.Button}}</button>
</form>
</main>
<script>` + autoSubmit + `</script>
</body>
</html>
`))

var formTexts = map[web.Lang][3]string{
	web.Italian: {"Ritorno all'applicazione", "Ti stiamo riportando all'applicazione. Se non succede nulla, premi il pulsante.", "Continua"},
	web.English: {"Back to the application", "Taking you back to the application. If nothing happens, press the button.", "Continue"},
}

// postForm answers with the HTTP-POST binding: a page whose form carries
// the signed message raw as param (and relayState) to action, submitted
// by the browser.
func (p *IdP) postForm(w http.ResponseWriter, r *http.Request, action, param string, raw []byte, relayState string, extra ...[2]string) {
	fields := [][2]string{{param, base64.StdEncoding.EncodeToString(raw)}}
	if relayState != "" {
		fields = append(fields, [2]string{"RelayState", relayState})
	}
	fields = append(fields, extra...)
	lang := web.LangFrom(r)
	t := formTexts[lang]
	var buf bytes.Buffer
	err := formPage.Execute(&buf, map[string]any{
		"Lang": string(lang), "Title": t[0], "Text": t[1], "Button": t[2], "Action": action, "Fields": fields,
	})
	if err != nil {
		p.refuse(w, r, "internal", err)
		return
	}
	formAction := "'self'"
	if u, err := url.Parse(action); err == nil && u.Host != "" {
		formAction = u.Scheme + "://" + u.Host
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src "+autoSubmitHash+
		"; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// repostMarker flags a POST-binding request that this identity provider
// re-posted to itself.
const repostMarker = "cnsgate_repost"

// needsRepost reports a POST-binding request that came without the session
// cookie and was not re-posted yet. The cookie is SameSite=Lax, so a
// browser leaves it off a form posted from the SP's site: posting the same
// form again from our own page makes the request same-site and brings the
// cookie, so that single sign-on and SP-initiated logout see the session.
// Without a session the second POST proceeds as the first would have.
func needsRepost(r *http.Request) bool {
	if r.Method != http.MethodPost || r.PostForm.Get(repostMarker) != "" {
		return false
	}
	c, err := r.Cookie(idp.SessionCookie)
	return err != nil || c.Value == ""
}

// repost answers with a page that posts m again to path on this origin.
func (p *IdP) repost(w http.ResponseWriter, r *http.Request, path string, m *message) {
	p.postForm(w, r, p.issuer+path, m.param, m.xml, m.relayState, [2]string{repostMarker, "1"})
}

// sendStatus answers a valid request that cannot be met (NoPassive,
// NoAuthnContext, InvalidNameIDPolicy) with a signed Response carrying the
// status and no assertion, to the ACS the request named.
func (p *IdP) sendStatus(w http.ResponseWriter, r *http.Request, req *crewjam.IdpAuthnRequest, top, second string) {
	id, err := p.newID()
	if err != nil {
		p.refuse(w, r, "internal", err)
		return
	}
	resp := &crewjam.Response{
		ID: id, InResponseTo: req.Request.ID, Version: "2.0", IssueInstant: p.now().UTC(),
		Destination: req.ACSEndpoint.Location,
		Issuer:      &crewjam.Issuer{Format: entityFormat, Value: p.entityID},
		Status:      crewjam.Status{StatusCode: crewjam.StatusCode{Value: top, StatusCode: &crewjam.StatusCode{Value: second}}},
	}
	el := resp.Element()
	if err := p.keys.sign(el); err != nil {
		p.refuse(w, r, "internal", err)
		return
	}
	raw, err := xmlBytes(el)
	if err != nil {
		p.refuse(w, r, "internal", err)
		return
	}
	p.logger.InfoContext(r.Context(), "saml request answered without assertion",
		"sp", req.ServiceProviderMetadata.EntityID, "status", second, "request_id", req.Request.ID)
	p.postForm(w, r, req.ACSEndpoint.Location, paramResponse, raw, req.RelayState)
}

// texts of the identity provider's error page; the detail goes to the log.
var pageTexts = map[web.Lang]map[string]string{
	web.Italian: {
		"title":       "Richiesta non valida",
		"request":     "L'applicazione che ti ha indirizzato qui ha inviato una richiesta di accesso SAML non valida o non riconosciuta. Torna all'applicazione e riprova; se il problema persiste, segnalalo all'assistenza dell'applicazione.",
		"logout":      "La richiesta di uscita dell'applicazione non è valida. Puoi comunque uscire da cnsgate dalla pagina iniziale.",
		"session":     "La sessione è terminata durante l'accesso. Torna all'applicazione e accedi di nuovo.",
		"unavailable": "Il servizio è temporaneamente non disponibile. Riprova tra qualche minuto.",
		"internal":    "Si è verificato un errore del servizio. Riprova tra qualche minuto.",
	},
	web.English: {
		"title":       "Invalid request",
		"request":     "The application that sent you here made an invalid or unrecognised SAML login request. Go back to the application and try again; if the problem persists, tell the application's help desk.",
		"logout":      "The application's logout request is not valid. You can still log out of cnsgate from the home page.",
		"session":     "Your session ended during the login. Go back to the application and log in again.",
		"unavailable": "The service is temporarily unavailable. Please try again in a few minutes.",
		"internal":    "The service had an error. Please try again in a few minutes.",
	},
}

// refusals are the errors that mean "this request is not acceptable";
// any other error while reading a request is an outage (the store that
// remembers request ids, say).
var refusals = []error{
	ErrUnknownSP, ErrMetadataUnavailable, ErrTooLarge, ErrMalformed, ErrUnsigned, ErrBadSignature,
	ErrWeakAlgorithm, ErrDestination, ErrStale, ErrReplay, ErrACS,
}

// pageKey is key for a refusal and "unavailable" for an outage.
func pageKey(err error, key string) string {
	for _, e := range refusals {
		if errors.Is(err, e) {
			return key
		}
	}
	return "unavailable"
}

// errorPage is the data of idp/web's error.html.
type errorPage struct {
	Lang      web.Lang
	Title     string
	Heading   string
	Message   string
	RequestID string
	BackURL   string
}

// refuse shows the citizen a fixed message for key and logs the detail. It
// never redirects: a request that fails here names an SP, an ACS or a
// signature that cannot be trusted with the browser.
func (p *IdP) refuse(w http.ResponseWriter, r *http.Request, key string, err error) {
	status := http.StatusBadRequest
	switch {
	case key == "unavailable" || errors.Is(err, ErrMetadataUnavailable):
		key, status = "unavailable", http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "30")
	case key == "internal":
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		p.logger.ErrorContext(r.Context(), "saml request failed", "err", err, "status", status)
	} else {
		p.logger.WarnContext(r.Context(), "saml request refused", "err", err, "status", status)
	}
	lang := web.LangFrom(r)
	texts := pageTexts[lang]
	if texts == nil {
		texts = pageTexts[web.Italian]
	}
	data := errorPage{
		Lang: lang, Title: texts["title"], Heading: texts["title"], Message: texts[key],
		RequestID: idp.RequestID(r.Context()), BackURL: p.issuer + "/",
	}
	if err := p.pages.Render(w, status, "error.html", data); err != nil {
		p.logger.ErrorContext(r.Context(), "page not rendered", "page", "error.html", "err", err)
	}
}
