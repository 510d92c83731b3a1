package oidc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/sessions"
)

// eventBackchannelLogout is the event of a logout token.
const eventBackchannelLogout = "http://schemas.openid.net/event/backchannel-logout"

const logoutTokenLife = 2 * time.Minute

// SessionEnded implements idp.LogoutNotifier: whatever ended the session
// ("Esci", end_session, SAML, expiry, revocation of the card), its token
// families are revoked here, and each participating client with a
// backchannel_logout_uri gets a signed logout token, which the login
// service's logout-delivery engine POSTs.
func (p *Provider) SessionEnded(ctx context.Context, s *sessions.Session, cause string) []idp.LogoutDelivery {
	if err := p.eph.Put(ctx, nsEnded, s.IDHash, []byte(cause), p.markerTTL(s.AbsoluteDeadline)); err != nil {
		// The tokens still die: /token, /userinfo and /introspect find
		// the session gone from the store.
		p.logger.ErrorContext(ctx, "ended session not marked", "err", err)
	}
	var out []idp.LogoutDelivery
	for _, part := range s.Participants {
		if part.Protocol != sessions.ProtocolOIDC {
			continue
		}
		c := p.client(ctx, part.ClientID)
		if c == nil || c.backchannel == "" {
			continue
		}
		d := idp.LogoutDelivery{Kind: idp.DeliveryOIDCBackchannel, Client: c.id, Session: s}
		tok, err := p.logoutToken(c, s, part.SID)
		if err != nil {
			d.Attempt = func(context.Context) (bool, error) { return false, fmt.Errorf("logout token not signed: %w", err) }
		} else {
			d.Attempt = func(ctx context.Context) (bool, error) { return p.postLogoutToken(ctx, c, tok) }
		}
		out = append(out, d)
	}
	return out
}

// logoutToken signs the logout token of a client for a session, with the
// algorithm of its ID tokens: iss, aud, iat, exp, jti, sid, sub and the
// back-channel logout event, never a nonce (OpenID Back-Channel Logout
// 1.0, 2.4).
func (p *Provider) logoutToken(c *client, s *sessions.Session, sid string) (string, error) {
	jti, err := p.newSecret()
	if err != nil {
		return "", err
	}
	now := p.now()
	return p.sign(c.idAlg, typLogout, map[string]any{
		"iss": p.issuer, "aud": []string{c.id}, "iat": now, "exp": now.Add(logoutTokenLife), "jti": jti,
		"sub": p.subject(c, s.FiscalCode), ClaimSID: sid,
		"events": map[string]any{eventBackchannelLogout: map[string]any{}},
	})
}

// postLogoutToken makes one delivery; retry says whether another attempt
// may succeed (network error, 5xx, 429).
func (p *Provider) postLogoutToken(ctx context.Context, c *client, token string) (retry bool, err error) {
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
	return idp.StatusOutcome(resp.StatusCode)
}
