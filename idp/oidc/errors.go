package oidc

import (
	"encoding/json"
	"net/http"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/web"
)

// The OAuth 2.0 and OpenID Connect error codes the provider answers with.
const (
	errInvalidRequest          = "invalid_request"
	errInvalidClient           = "invalid_client"
	errInvalidGrant            = "invalid_grant"
	errUnauthorizedClient      = "unauthorized_client"
	errUnsupportedGrantType    = "unsupported_grant_type"
	errUnsupportedResponseType = "unsupported_response_type"
	errInvalidScope            = "invalid_scope"
	errInvalidToken            = "invalid_token"
	errServerError             = "server_error"
	errTemporarilyUnavailable  = "temporarily_unavailable"
	errLoginRequired           = "login_required"
	errRequestNotSupported     = "request_not_supported"
	errRequestURINotSupported  = "request_uri_not_supported"
	errRegistrationNotSupp     = "registration_not_supported"
)

// oauthError is a refusal as the protocol states it: a code from the fixed
// set above and a description for the developer of the relying party. It
// never carries personal data.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
	// page marks an authorization request that cannot be answered by
	// redirect (unknown client, unregistered redirect URI): the browser gets
	// an error page.
	page bool
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func newErr(code, desc string) *oauthError {
	status := http.StatusBadRequest
	switch code {
	case errInvalidClient, errInvalidToken:
		status = http.StatusUnauthorized
	case errServerError:
		status = http.StatusInternalServerError
	case errTemporarilyUnavailable:
		status = http.StatusServiceUnavailable
	}
	return &oauthError{Code: code, Description: desc, status: status}
}

func pageErr(desc string) *oauthError {
	e := newErr(errInvalidRequest, desc)
	e.page = true
	return e
}

// writeJSON answers a back-channel request; nothing of it may be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers a back-channel request with e (RFC 6749 5.2). A client
// that tried HTTP Basic authentication is told to in WWW-Authenticate.
func writeError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	if e.status == http.StatusUnauthorized && e.Code == errInvalidClient && r.Header.Get("Authorization") != "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="cnsgate"`)
	}
	writeJSON(w, e.status, e)
}

// texts of the provider's own error page; the detail goes to the log.
var pageTexts = map[web.Lang]map[string]string{
	web.Italian: {
		"title":    "Richiesta non valida",
		"request":  "L'applicazione che ti ha indirizzato qui ha inviato una richiesta di accesso non valida (applicazione o indirizzo di ritorno non registrati). Torna all'applicazione e riprova; se il problema persiste, segnalalo all'assistenza dell'applicazione.",
		"logout":   "La richiesta di uscita dell'applicazione non è valida. Puoi comunque uscire da cnsgate dalla pagina iniziale.",
		"internal": "Si è verificato un errore del servizio. Riprova tra qualche minuto.",
	},
	web.English: {
		"title":    "Invalid request",
		"request":  "The application that sent you here made an invalid login request (unregistered application or return address). Go back to the application and try again; if the problem persists, tell the application's help desk.",
		"logout":   "The application's logout request is not valid. You can still log out of cnsgate from the home page.",
		"internal": "The service had an error. Please try again in a few minutes.",
	},
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

// renderError shows the citizen a fixed message; the detail is logged.
func (p *Provider) renderError(w http.ResponseWriter, r *http.Request, status int, key, detail string) {
	lang := web.LangFrom(r)
	texts := pageTexts[lang]
	if texts == nil {
		texts = pageTexts[web.Italian]
	}
	p.logger.WarnContext(r.Context(), "oidc request refused", "detail", detail, "status", status)
	data := errorPage{
		Lang: lang, Title: texts["title"], Heading: texts["title"], Message: texts[key],
		RequestID: idp.RequestID(r.Context()), BackURL: p.issuer + "/",
	}
	if err := p.pages.Render(w, status, "error.html", data); err != nil {
		p.logger.ErrorContext(r.Context(), "page not rendered", "page", "error.html", "err", err)
	}
}

// writeBody encodes v as the response body; headers are already set.
func writeBody(w http.ResponseWriter, v any) { _ = json.NewEncoder(w).Encode(v) }
