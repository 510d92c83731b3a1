package saml

import (
	"encoding/base64"
	"errors"
	"net/http"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/web"
)

// postForm answers with the HTTP-POST binding: a page whose form carries
// the signed message raw as param (and relayState) to action, submitted
// by the browser.
func (p *IdP) postForm(w http.ResponseWriter, r *http.Request, action, param string, raw []byte, relayState string, extra ...web.Field) {
	fields := []web.Field{{Name: param, Value: base64.StdEncoding.EncodeToString(raw)}}
	if relayState != "" {
		fields = append(fields, web.Field{Name: "RelayState", Value: relayState})
	}
	fields = append(fields, extra...)
	if err := p.pages.RenderForm(w, r, web.Form{Action: action, Fields: fields}); err != nil {
		p.refuse(w, r, "internal", err)
	}
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
	p.postForm(w, r, p.issuer+path, m.param, m.xml, m.relayState, web.Field{Name: repostMarker, Value: "1"})
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

// pageMessages maps the identity provider's error-page keys to idp/web
// texts.
var pageMessages = map[string]string{
	"request":     "saml.request",
	"logout":      "logout.invalid",
	"session":     "saml.session",
	"unavailable": "unavailable.text",
	"internal":    "reason.internal_error",
}

// refusals are the errors that mean "this request is not acceptable";
// any other error while reading a request is an outage (the store that
// remembers request ids, say). RefusalReasons names each, in this order.
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
	p.countRefusal(err)
	if status >= 500 {
		p.logger.ErrorContext(r.Context(), "saml request failed", "err", err, "status", status)
	} else {
		p.logger.WarnContext(r.Context(), "saml request refused", "err", err, "status", status)
	}
	e := web.ErrorPage{
		TitleKey: "request.title", MessageKey: pageMessages[key],
		RequestID: idp.RequestID(r.Context()), BackURL: p.issuer + "/",
	}
	if err := p.pages.RenderError(w, r, status, e); err != nil {
		p.logger.ErrorContext(r.Context(), "page not rendered", "page", "error.html", "err", err)
	}
}
