package oidc

import (
	"encoding/json"
	"net/http"
)

// cancel answers an authorization request the citizen cancelled ("Annulla"
// on the login, refusal or data-release page; the CancelFunc of Kind):
// access_denied to the client's redirect URI, with its state and iss.
func (p *Provider) cancel(w http.ResponseWriter, r *http.Request, data json.RawMessage) {
	var req authRequest
	if err := json.Unmarshal(data, &req); err != nil {
		p.renderError(w, r, http.StatusInternalServerError, "internal", "pending request unreadable: "+err.Error())
		return
	}
	c := p.client(r.Context(), req.ClientID)
	if c == nil || !c.redirectAllowed(req.RedirectURI) {
		p.renderError(w, r, http.StatusBadRequest, "request", "client or redirect_uri no longer configured")
		return
	}
	p.redirectError(w, r, req, newErr(errAccessDenied, "the user cancelled the login"))
}
