package oidc

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"

	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
)

// LogoutConfirmation says when an RP-initiated logout asks the citizen
// "Vuoi uscire?" before ending the session.
type LogoutConfirmation string

// The logout confirmation modes; the zero value is
// ConfirmWithoutValidHint.
const (
	// ConfirmWithoutValidHint logs out at once when the request carries an
	// id_token_hint, signed by cnsgate (expired or not), of the browser's
	// current session; any other request asks.
	ConfirmWithoutValidHint LogoutConfirmation = "without_valid_hint"
	// ConfirmAlways asks every time.
	ConfirmAlways LogoutConfirmation = "always"
	// ConfirmNever never asks: any valid logout request ends the session.
	ConfirmNever LogoutConfirmation = "never"
)

// LogoutConfirmations lists the modes, for validation.
var LogoutConfirmations = []LogoutConfirmation{ConfirmWithoutValidHint, ConfirmAlways, ConfirmNever}

// endSessionParams are the parameters of an RP-initiated logout request
// (OpenID Connect RP-Initiated Logout 1.0, 2); a /logout with none of them
// is the citizen's own "Esci", left to idp.
var endSessionParams = []string{"id_token_hint", "post_logout_redirect_uri", "client_id", "state", "logout_hint", "ui_locales"}

// endSessionRequest is a validated RP-initiated logout request.
type endSessionRequest struct {
	client *client // named by the hint or client_id; nil when neither
	// hintSID is the sid of a valid id_token_hint ("" without one).
	hintSID string
	// next is where the browser goes afterwards: the registered
	// post_logout_redirect_uri with state, or "" for cnsgate's own page.
	next string
}

// endSession is the provider's part of /logout (idp.EndSessionFunc): a GET
// with the parameters in the query or a form POST with them in the body.
// It validates the relying party's request, then has idp end the session
// at once (a valid hint of the current session, per LogoutConfirmation)
// or ask the citizen first; without a session the browser goes straight
// to the post-logout destination. An invalid request gets the
// refused-logout page, never a redirect.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) bool {
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		params = r.PostForm // parsed by idp
	}
	ours := false
	for _, k := range endSessionParams {
		if len(params[k]) > 1 {
			p.refuseLogout(w, r, k+" is repeated")
			return true
		}
		ours = ours || params.Get(k) != ""
	}
	if !ours {
		return false
	}
	if l, ok := web.LocalesLang(params.Get("ui_locales")); ok {
		r = r.WithContext(web.WithLang(r.Context(), l))
	}
	req, refused := p.parseEndSession(r.Context(), params)
	if refused != "" {
		p.refuseLogout(w, r, refused)
		return true
	}
	sess, err := p.svc.CurrentSession(r)
	if err == nil && p.logoutWithoutAsking(req, sess) {
		p.logger.InfoContext(r.Context(), "oidc end_session: logged out without confirmation", "client_id", req.clientID(), "mode", p.logoutConfirm)
		p.svc.EndBrowserSession(w, r, sess, req.next)
		return true
	}
	p.svc.ConfirmLogout(w, r, req.next)
	return true
}

func (req *endSessionRequest) clientID() string {
	if req.client == nil {
		return ""
	}
	return req.client.id
}

// logoutWithoutAsking applies LogoutConfirmation to a request for the
// browser's live session sess.
func (p *Provider) logoutWithoutAsking(req *endSessionRequest, sess *sessions.Session) bool {
	switch p.logoutConfirm {
	case ConfirmAlways:
		return false
	case ConfirmNever:
		return true
	}
	if req.hintSID == "" || req.client == nil {
		return false
	}
	want := sidFor(sess.IDHash, req.client.id)
	return subtle.ConstantTimeCompare([]byte(req.hintSID), []byte(want)) == 1
}

// refuseLogout shows the refused-logout page; the detail is logged.
func (p *Provider) refuseLogout(w http.ResponseWriter, r *http.Request, detail string) {
	p.renderError(w, r, http.StatusBadRequest, "logout", "end_session: "+detail)
}

// readHint checks an id_token_hint: signed and issued by us, of any age,
// for one configured client. It returns that client and the token's sid,
// or why it refuses the hint.
func (p *Provider) readHint(ctx context.Context, hint string) (c *client, sid, refused string) {
	tok, err := p.verify(hint, typID, false)
	if err != nil {
		return nil, "", "id_token_hint: " + err.Error()
	}
	if aud := tok.Audience(); len(aud) == 1 {
		c = p.client(ctx, aud[0])
	}
	if c == nil {
		return nil, "", "id_token_hint names no configured client"
	}
	if v, ok := tok.Get(ClaimSID); ok {
		sid, _ = v.(string)
	}
	return c, sid, ""
}

// parseEndSession validates the parameters: the hint ours (it may have
// expired: RP-Initiated Logout 1.0, 2) and for one configured client,
// client_id that client, post_logout_redirect_uri one of its registered
// ones exactly. It returns the reason when it refuses.
func (p *Provider) parseEndSession(ctx context.Context, q url.Values) (*endSessionRequest, string) {
	req := &endSessionRequest{}
	if hint := q.Get("id_token_hint"); hint != "" {
		var refused string
		if req.client, req.hintSID, refused = p.readHint(ctx, hint); refused != "" {
			return nil, refused
		}
	}
	if id := q.Get("client_id"); id != "" {
		if req.client != nil && req.client.id != id {
			return nil, "client_id differs from the id_token_hint's audience"
		}
		if req.client = p.client(ctx, id); req.client == nil {
			return nil, "unknown client_id"
		}
	}
	target := q.Get("post_logout_redirect_uri")
	if target == "" {
		return req, ""
	}
	if req.client == nil {
		return nil, "post_logout_redirect_uri without id_token_hint or client_id"
	}
	if !req.client.postLogoutAllowed(target) {
		return nil, fmt.Sprintf("post_logout_redirect_uri not registered for client %s", req.client.id)
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, "post_logout_redirect_uri unparseable"
	}
	if state := q.Get("state"); state != "" {
		v := u.Query()
		v.Set("state", state)
		u.RawQuery = v.Encode()
	}
	req.next = u.String()
	return req, ""
}
