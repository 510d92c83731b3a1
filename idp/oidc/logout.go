package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cnsgate/cnsgate/idp/registry"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// eventBackchannelLogout is the event of a logout token.
const eventBackchannelLogout = "http://schemas.openid.net/event/backchannel-logout"

const (
	logoutTokenLife = 2 * time.Minute
	deliveryTimeout = 10 * time.Second
)

// SessionEnded implements idp.LogoutNotifier: whatever ended the session
// ("Esci", end_session, SAML, expiry, revocation of the card), its token
// families are revoked and each participating client with a
// backchannel_logout_uri is sent a logout token, in the background, with
// bounded retries.
func (p *Provider) SessionEnded(ctx context.Context, s *sessions.Session, cause string) {
	if err := p.eph.Put(ctx, nsEnded, s.IDHash, []byte(cause), p.markerTTL(s.AbsoluteDeadline)); err != nil {
		// The tokens still die: /token, /userinfo and /introspect find
		// the session gone from the store.
		p.logger.ErrorContext(ctx, "ended session not marked", "err", err)
	}
	for _, part := range s.Participants {
		if part.Protocol != sessions.ProtocolOIDC {
			continue
		}
		c := p.clients[part.ClientID]
		if c == nil || c.backchannel == "" {
			continue
		}
		tok, err := p.logoutToken(c, s, part.SID)
		if err != nil {
			p.logger.ErrorContext(ctx, "logout token not signed", "client_id", c.id, "err", err)
			p.recorder.LogoutNotification(NotificationBackchannel, ResultFailed)
			continue
		}
		if !p.startDelivery() {
			p.logger.WarnContext(ctx, "back-channel logout not sent: shutting down", "client_id", c.id)
			p.recorder.LogoutNotification(NotificationBackchannel, ResultFailed)
			continue
		}
		go p.deliver(c, tok, s)
	}
}

// startDelivery counts a delivery in, unless Close has begun.
func (p *Provider) startDelivery() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return false
	}
	p.wg.Add(1)
	return true
}

// logoutToken signs the logout token of a client for a session: iss, aud,
// iat, exp, jti, sid, sub and the back-channel logout event, never a nonce
// (OpenID Back-Channel Logout 1.0, 2.4).
func (p *Provider) logoutToken(c *client, s *sessions.Session, sid string) (string, error) {
	jti, err := p.newSecret()
	if err != nil {
		return "", err
	}
	now := p.now()
	return p.sign(typLogout, map[string]any{
		"iss": p.issuer, "aud": []string{c.id}, "iat": now, "exp": now.Add(logoutTokenLife), "jti": jti,
		"sub": p.subject(c, s.FiscalCode), ClaimSID: sid,
		"events": map[string]any{eventBackchannelLogout: map[string]any{}},
	})
}

// deliver posts a logout token until the client accepts it, it refuses it
// for good (4xx), or the attempts run out, waiting longer each time.
func (p *Provider) deliver(c *client, token string, s *sessions.Session) {
	defer p.wg.Done()
	audit := func(outcome registry.Outcome, attempts int, err error) {
		detail, _ := json.Marshal(map[string]any{"kind": NotificationBackchannel, "attempts": attempts, "error": errString(err)})
		p.svc.Audit(context.Background(), registry.Event{Kind: registry.KindLogoutNotification, Outcome: outcome, Client: c.id,
			FiscalCode: s.FiscalCode, SessionHash: s.IDHash, Detail: detail})
	}
	wait := p.backoff
	for attempt := 1; ; attempt++ {
		retry, err := p.postLogoutToken(c, token)
		if err == nil {
			audit(registry.OutcomeSuccess, attempt, nil)
			p.recorder.LogoutNotification(NotificationBackchannel, ResultOK)
			return
		}
		if !retry || attempt >= p.attempts {
			p.logger.Warn("back-channel logout failed", "client_id", c.id, "attempts", attempt, "err", err)
			audit(registry.OutcomeFailure, attempt, err)
			p.recorder.LogoutNotification(NotificationBackchannel, ResultFailed)
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.stop:
			t.Stop()
			p.logger.Warn("back-channel logout abandoned at shutdown", "client_id", c.id, "attempts", attempt)
			audit(registry.OutcomeFailure, attempt, errors.New("abandoned at shutdown"))
			p.recorder.LogoutNotification(NotificationBackchannel, ResultFailed)
			return
		}
		wait *= 2
	}
}

// postLogoutToken makes one delivery; retry says whether another attempt
// may succeed (network error, 5xx, 429).
func (p *Provider) postLogoutToken(c *client, token string) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), deliveryTimeout)
	defer cancel()
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.backchannel, strings.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.http.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("status %d", resp.StatusCode)
	}
	return false, fmt.Errorf("refused with status %d", resp.StatusCode)
}

// endSessionParams are the parameters of an RP-initiated logout request
// (OpenID Connect RP-Initiated Logout 1.0, 2); a GET /logout with none of
// them is the citizen's own "Esci", left to idp.
var endSessionParams = []string{"id_token_hint", "post_logout_redirect_uri", "client_id", "state", "logout_hint", "ui_locales"}

// endSession is the provider's part of GET /logout (idp.EndSessionFunc):
// it validates the relying party's request and hands idp the post-logout
// destination; idp asks the citizen to confirm and ends the session. An
// invalid request gets an error page, never a redirect.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	ours := false
	for _, k := range endSessionParams {
		if len(q[k]) > 1 {
			p.renderError(w, r, http.StatusBadRequest, "logout", "end_session: "+k+" is repeated")
			return true
		}
		ours = ours || q.Get(k) != ""
	}
	if !ours {
		return false
	}
	next, detail := p.postLogoutTarget(q)
	if detail != "" {
		p.renderError(w, r, http.StatusBadRequest, "logout", "end_session: "+detail)
		return true
	}
	p.svc.EndSession(w, r, next)
	return true
}

// postLogoutTarget returns where the browser goes after logging out, ""
// for cnsgate's own page, or the reason the request is refused.
func (p *Provider) postLogoutTarget(q url.Values) (next, refused string) {
	var c *client
	if hint := q.Get("id_token_hint"); hint != "" {
		// Signed by us and issued by us; it may have expired (RP-Initiated
		// Logout 1.0, 2).
		tok, err := p.verify(hint, typID, false)
		if err != nil {
			return "", "id_token_hint: " + err.Error()
		}
		if aud := tok.Audience(); len(aud) == 1 {
			c = p.clients[aud[0]]
		}
		if c == nil {
			return "", "id_token_hint names no configured client"
		}
	}
	if id := q.Get("client_id"); id != "" {
		if c != nil && c.id != id {
			return "", "client_id differs from the id_token_hint's audience"
		}
		if c = p.clients[id]; c == nil {
			return "", "unknown client_id"
		}
	}
	target := q.Get("post_logout_redirect_uri")
	if target == "" {
		return "", ""
	}
	if c == nil {
		return "", "post_logout_redirect_uri without id_token_hint or client_id"
	}
	if !c.postLogoutAllowed(target) {
		return "", "post_logout_redirect_uri not registered for client " + c.id
	}
	if state := q.Get("state"); state != "" {
		u, err := url.Parse(target)
		if err != nil {
			return "", "post_logout_redirect_uri unparseable"
		}
		v := u.Query()
		v.Set("state", state)
		u.RawQuery = v.Encode()
		target = u.String()
	}
	return target, ""
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
