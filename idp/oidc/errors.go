package oidc

import (
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
	errConsentRequired         = "consent_required"
	errAccessDenied            = "access_denied"
	errRequestNotSupported     = "request_not_supported"
	errRequestURINotSupported  = "request_uri_not_supported"
	errRegistrationNotSupp     = "registration_not_supported"
	errInvalidRequestObject    = "invalid_request_object"
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

// writeError answers a back-channel request with e (RFC 6749 5.2). A client
// that tried HTTP Basic authentication is told to in WWW-Authenticate.
func writeError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	if e.status == http.StatusUnauthorized && e.Code == errInvalidClient && r.Header.Get("Authorization") != "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="cnsgate"`)
	}
	writeJSON(w, e.status, e)
}

// pageMessages maps the provider's error-page keys to idp/web texts.
var pageMessages = map[string]string{
	"request":  "oidc.request",
	"logout":   "logout.invalid",
	"internal": "reason.internal_error",
}

// renderError shows the citizen a fixed message; the detail is logged.
func (p *Provider) renderError(w http.ResponseWriter, r *http.Request, status int, key, detail string) {
	p.logger.WarnContext(r.Context(), "oidc request refused", "detail", detail, "status", status)
	title := "request.title"
	if key == "logout" {
		title = "logout.refused"
	}
	e := web.ErrorPage{
		TitleKey: title, MessageKey: pageMessages[key],
		RequestID: idp.RequestID(r.Context()), BackURL: p.issuer + "/",
	}
	if err := p.pages.RenderError(w, r, status, e); err != nil {
		p.logger.ErrorContext(r.Context(), "page not rendered", "page", "error.html", "err", err)
	}
}
