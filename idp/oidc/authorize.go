package oidc

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
)

// maxFormBytes bounds the body of every form the provider reads.
const maxFormBytes = 64 << 10

// authorize is the authorization endpoint: a refusal goes back to the
// client's redirect URI, except when the client or the URI is not
// registered; a valid request starts the card login (or answers at once
// from a live session).
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	r, req, c, ok := p.readAuthorize(w, r)
	if !ok {
		return
	}
	req.Scopes = c.grantScopes(req.Scopes)
	sess, err := p.svc.CurrentSession(r)
	switch {
	case errors.Is(err, sessions.ErrNotFound):
		sess = nil
	case err != nil:
		p.logger.ErrorContext(r.Context(), "session store unavailable", "err", err)
		p.redirectError(w, r, req, newErr(errTemporarilyUnavailable, "try again later"))
		return
	}
	stale := sess != nil && req.MaxAge >= 0 && p.now().Sub(sess.AuthTime) > time.Duration(req.MaxAge)*time.Second
	data, _ := json.Marshal(req)
	if req.Prompt == "none" {
		p.answerWithoutPage(w, r, req, sess, stale, data)
		return
	}
	p.svc.BeginLogin(w, r, idp.PendingRequest{Kind: Kind, Data: data, ForceLogin: req.Prompt == "login" || stale, Lang: req.Lang, Client: req.ClientID})
}

// readAuthorize reads and checks an authorization request: its request
// object, its client and redirect URI (refused on a page), then the rules
// of the client's profile and its acr_values (refused to the redirect
// URI). The request it returns speaks the request's ui_locales (before
// Accept-Language, on every page of the login, this one's errors
// included). When not ok it has answered.
func (p *Provider) readAuthorize(w http.ResponseWriter, r *http.Request) (*http.Request, authRequest, *client, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.renderError(w, r, http.StatusBadRequest, "request", "authorization request unreadable: "+err.Error())
		return r, authRequest{}, nil, false
	}
	lang := uiLocale(r.Form)
	req, perr := p.parseRequest(r.Context(), r.Form)
	if req.Lang == "" { // else ui_locales of the request object
		req.Lang = string(lang)
	}
	r = r.WithContext(web.WithLang(r.Context(), web.Lang(req.Lang)))
	if perr != nil && perr.page {
		p.renderError(w, r, http.StatusBadRequest, "request", perr.Description)
		return r, req, nil, false
	}
	c, err := p.lookupClient(r.Context(), req.ClientID)
	if err != nil {
		p.logger.InfoContext(r.Context(), "authorization request refused", "client_id", req.ClientID, "err", err)
		p.renderError(w, r, http.StatusBadRequest, "request", unknownClient(err))
		return r, req, nil, false
	}
	if !c.redirectAllowed(req.RedirectURI) {
		p.renderError(w, r, http.StatusBadRequest, "request", "redirect_uri not registered for client "+c.id)
		return r, req, nil, false
	}
	if perr == nil {
		perr = p.checkProfile(c, &req)
	}
	if perr == nil {
		perr = p.checkACR(c, &req)
	}
	if perr != nil {
		p.redirectError(w, r, req, perr)
		return r, req, nil, false
	}
	return r, req, c, true
}

// resume finishes an authorization request once the citizen has a
// session: it records the client as a participant and sends it a code.
func (p *Provider) resume(w http.ResponseWriter, r *http.Request, sess *sessions.Session, data json.RawMessage) {
	ctx := r.Context()
	var req authRequest
	if err := json.Unmarshal(data, &req); err != nil {
		p.renderError(w, r, http.StatusInternalServerError, "internal", "pending request unreadable: "+err.Error())
		return
	}
	c := p.client(ctx, req.ClientID)
	if c == nil || !c.redirectAllowed(req.RedirectURI) {
		p.renderError(w, r, http.StatusBadRequest, "request", "client or redirect_uri no longer configured")
		return
	}
	if !p.svc.Permit(w, r, sess, c.id) { // audience and required roles
		return
	}
	if !p.svc.ReleaseAgreed(w, r, sess, p.releaseOf(c, sess, req, data)) { // the data-release page
		return
	}
	sid := sidFor(sess.IDHash, c.id)
	g := &grant{
		ClientID: c.id, Scopes: req.Scopes, SessionHash: sess.IDHash, FiscalCode: sess.FiscalCode, SID: sid,
		Deadline:    sess.AbsoluteDeadline,
		RedirectURI: req.RedirectURI, Challenge: req.Challenge, Nonce: req.Nonce, Claims: req.Claims,
		ACR: req.ACR, Offline: req.Offline,
	}
	code, entry, err := p.newCode(g)
	if err != nil {
		p.logger.ErrorContext(ctx, "code not made", "err", err)
		p.redirectError(w, r, req, newErr(errTemporarilyUnavailable, "try again later"))
		return
	}
	// The participant and the code in one round trip; the code is stored
	// only in a live session.
	err = sessions.AddParticipantAndPut(ctx, p.store, p.eph, sess.ID,
		sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: c.id, SID: sid}, entry)
	p.svc.SessionExpired(ctx, err) // a deadline passed meanwhile: the session ends
	switch {
	case errors.Is(err, sessions.ErrNotFound) || errors.Is(err, sessions.ErrExpired):
		p.redirectError(w, r, req, newErr(errLoginRequired, "the session ended"))
		return
	case err != nil:
		p.logger.ErrorContext(ctx, "participant or code not recorded", "err", err)
		p.redirectError(w, r, req, newErr(errTemporarilyUnavailable, "try again later"))
		return
	}
	p.logger.InfoContext(ctx, "oidc code issued", "client_id", c.id, "session", sess.IDHash[:16])
	params := url.Values{"code": {code}}
	if req.State != "" {
		params.Set("state", req.State)
	}
	p.respond(w, r, req, params)
}

// redirectError sends a refusal to the client's registered redirect URI
// (RFC 6749 4.1.2.1).
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, req authRequest, e *oauthError) {
	p.logger.InfoContext(r.Context(), "oidc authorization refused", "client_id", req.ClientID, "error", e.Code, "detail", e.Description)
	params := url.Values{"error": {e.Code}}
	if e.Description != "" {
		params.Set("error_description", e.Description)
	}
	if req.State != "" {
		params.Set("state", req.State)
	}
	p.respond(w, r, req, params)
}

// respond delivers an authorization response by redirect (query) or by an
// auto-submitting form (form_post), with iss per RFC 9207 unless the
// client registered authorization_response_iss: false.
func (p *Provider) respond(w http.ResponseWriter, r *http.Request, req authRequest, params url.Values) {
	if c := p.client(r.Context(), req.ClientID); c == nil || !c.omitISS {
		params.Set("iss", p.issuer)
	}
	u, err := url.Parse(req.RedirectURI)
	if err != nil {
		p.renderError(w, r, http.StatusBadRequest, "request", "redirect_uri unparseable")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if req.ResponseMode == "form_post" {
		p.formPost(w, r, u, params)
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// formPost delivers params to the client by the one auto-submitting form
// of idp/web. The redirect URI was registered by the client, so its scheme
// is written as given (a native application's private-use scheme).
func (p *Provider) formPost(w http.ResponseWriter, r *http.Request, u *url.URL, params url.Values) {
	f := web.Form{Action: u.String(), TrustAction: true}
	for _, k := range []string{"code", "state", "iss", "error", "error_description"} {
		if v := params.Get(k); v != "" {
			f.Fields = append(f.Fields, web.Field{Name: k, Value: v})
		}
	}
	if err := p.pages.RenderForm(w, r, f); err != nil {
		p.renderError(w, r, http.StatusInternalServerError, "internal", "form_post not rendered: "+err.Error())
	}
}

// answerWithoutPage answers prompt=none: never any page, so from the
// session found, or with login_required, or with access_denied when the
// client's audience excludes this person, or with consent_required when the
// data-release page would have to be shown.
func (p *Provider) answerWithoutPage(w http.ResponseWriter, r *http.Request, req authRequest, sess *sessions.Session, stale bool, data json.RawMessage) {
	if sess == nil || stale {
		p.redirectError(w, r, req, newErr(errLoginRequired, "no live session, or one older than max_age"))
		return
	}
	if reason := p.svc.Refused(r, sess, req.ClientID); reason != "" {
		p.redirectError(w, r, req, newErr(errAccessDenied, "this client's audience excludes the user ("+reason+")"))
		return
	}
	if c := p.client(r.Context(), req.ClientID); c != nil {
		need, err := p.svc.ReleaseNeeded(r, sess, p.release(c, sess, req, data))
		switch {
		case err != nil:
			p.logger.ErrorContext(r.Context(), "registry unavailable", "err", err)
			p.redirectError(w, r, req, newErr(errTemporarilyUnavailable, "try again later"))
			return
		case need:
			p.redirectError(w, r, req, newErr(errConsentRequired, "the user has not agreed to release this data to the client"))
			return
		}
	}
	p.resume(w, r, sess, data)
}
