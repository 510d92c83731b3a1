package saml

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/sessions"
)

// Front-channel logout: the SAML participants of a session that list only
// browser bindings for their SingleLogoutService (HTTP-Redirect,
// HTTP-POST) are told when the citizen logs out ("Esci", or a
// LogoutRequest from another SP) by the citizen's browser itself. The
// browser is sent to each in turn with a signed LogoutRequest whose
// RelayState names the chain; the SP answers at /saml/slo with its
// LogoutResponse, which is checked and recorded (counted and audited as a
// saml_frontchannel delivery), and the browser goes on to the next SP,
// then to where the logout leads (the initiating SP's LogoutResponse, a
// relying party's post-logout page or the logged-out page).
//
// SessionEnded, told of the end first, writes the plan (who is to be told,
// the initiator left out) under the session's key; FrontChannel, called by
// idp.Service.EndBrowserSession once the session has ended, turns it into
// a chain. Sessions that end without a browser (timeouts, revocation, an
// administrator) have no plan: those SPs are not told, and the log says so.
const (
	nsFrontPlan  = "saml-fc-plan"
	nsFrontChain = "saml-fc"
	paramChain   = "fc"
)

// frontStep is one SP to tell, with what it received in the session.
type frontStep struct {
	SP     string `json:"sp"`
	NameID string `json:"name_id"`
	SID    string `json:"sid,omitempty"`
}

// frontChain is a front-channel logout under way, kept in the ephemeral
// store between the browser's visits.
type frontChain struct {
	Final   string      `json:"final"` // where the browser goes at the end
	Steps   []frontStep `json:"steps"` // still to tell
	Waiting *frontWait  `json:"waiting,omitempty"`
	// FiscalCode and SessionHash identify the ended session for the audit
	// trail of each delivery.
	FiscalCode  string `json:"fc,omitempty"`
	SessionHash string `json:"sh,omitempty"`
}

// frontWait is the LogoutRequest whose answer the chain waits for.
type frontWait struct {
	SP string `json:"sp"`
	ID string `json:"id"`
}

var _ idp.FrontChannelLogout = (*IdP)(nil)

// hasBrowserSLO reports whether the SP lists a SingleLogoutService for a
// browser binding.
func (md *spMetadata) hasBrowserSLO() bool {
	_, _, redirect := md.slo(bindingRedirect)
	_, _, post := md.slo(bindingPost)
	return redirect || post
}

// savePlan records the front-channel steps of an ended session for
// FrontChannel; a failure is logged (those SPs are then not told).
func (p *IdP) savePlan(ctx context.Context, sess *sessions.Session, steps []frontStep) {
	val, _ := json.Marshal(steps)
	if err := p.eph.Put(ctx, nsFrontPlan, sessionKey(sess), val, sloTTL); err != nil {
		p.logger.ErrorContext(ctx, "saml front-channel logout not planned", "err", err, "sps", len(steps))
	}
}

// FrontChannel implements idp.FrontChannelLogout: the URL of the chain
// through the SPs SessionEnded planned for sess, ending at next; "" when
// there are none.
func (p *IdP) FrontChannel(ctx context.Context, sess *sessions.Session, next string) (string, error) {
	raw, err := p.eph.Take(ctx, nsFrontPlan, sessionKey(sess))
	if errors.Is(err, sessions.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	c := frontChain{Final: next, FiscalCode: sess.FiscalCode, SessionHash: sess.IDHash}
	if err := json.Unmarshal(raw, &c.Steps); err != nil || len(c.Steps) == 0 {
		return "", err
	}
	key, err := p.newID()
	if err != nil {
		return "", err
	}
	if err := p.putChain(ctx, key, &c); err != nil {
		return "", err
	}
	return p.issuer + PathSLO + "?" + paramChain + "=" + key, nil
}

func (p *IdP) putChain(ctx context.Context, key string, c *frontChain) error {
	val, _ := json.Marshal(c)
	return p.eph.Put(ctx, nsFrontChain, key, val, sloTTL)
}

// takeChain reads and removes a chain: each visit of the browser moves it
// on once.
func (p *IdP) takeChain(ctx context.Context, key string) (*frontChain, error) {
	raw, err := p.eph.Take(ctx, nsFrontChain, key)
	if err != nil {
		return nil, err
	}
	var c frontChain
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%w: front-channel chain: %v", ErrMalformed, err)
	}
	return &c, nil
}

// frontStart serves /saml/slo?fc=KEY: the first step of a chain.
func (p *IdP) frontStart(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get(paramChain)
	c, err := p.takeChain(r.Context(), key)
	if err == nil && c.Waiting != nil {
		// Started already: the SP it waits for answers to the chain, and
		// no second visit skips it.
		if err = p.putChain(r.Context(), key, c); err == nil {
			err = fmt.Errorf("%w: the chain waits for %s", sessions.ErrNotFound, c.Waiting.SP)
		}
	}
	if err != nil {
		p.refuse(w, r, chainPageKey(err), fmt.Errorf("front-channel logout: %w", err))
		return
	}
	p.frontNext(w, r, key, c)
}

// chainPageKey is "logout" for a chain that is unknown or spent, and
// "unavailable" for an outage of the store.
func chainPageKey(err error) string {
	if errors.Is(err, sessions.ErrNotFound) || errors.Is(err, ErrMalformed) {
		return "logout"
	}
	return "unavailable"
}

// frontNext sends the browser to the next SP of the chain with a signed
// LogoutRequest, or, when none is left, to the chain's end. An SP that
// cannot be told (its metadata gone, no browser endpoint left) is
// recorded as failed and skipped.
func (p *IdP) frontNext(w http.ResponseWriter, r *http.Request, key string, c *frontChain) {
	ctx := r.Context()
	for len(c.Steps) > 0 {
		step := c.Steps[0]
		c.Steps = c.Steps[1:]
		id, send, err := p.frontRequest(step, key)
		if err != nil {
			p.frontDone(c, step.SP, fmt.Errorf("front-channel LogoutRequest not sent: %w", err))
			continue
		}
		c.Waiting = &frontWait{SP: step.SP, ID: id}
		if err := p.putChain(ctx, key, c); err != nil {
			p.frontDone(c, step.SP, fmt.Errorf("front-channel LogoutRequest not sent: %w", err))
			p.refuse(w, r, "unavailable", err)
			return
		}
		p.logger.InfoContext(ctx, "saml front-channel logout request", "sp", step.SP, "request_id", id)
		send(w, r)
		return
	}
	http.Redirect(w, r, c.Final, http.StatusSeeOther)
}

// frontRequest builds the signed LogoutRequest for step and returns its id
// and how to send it: a signed Redirect-binding URL when the SP lists one,
// else a page posting it.
func (p *IdP) frontRequest(step frontStep, key string) (string, func(http.ResponseWriter, *http.Request), error) {
	sp, md, err := p.sps.lookup(step.SP)
	if err != nil {
		return "", nil, err
	}
	pt := sessions.Participant{Protocol: sessions.ProtocolSAML, ClientID: step.SP, NameID: step.NameID, SID: step.SID}
	if loc, _, ok := md.slo(bindingRedirect); ok {
		id, el, err := p.logoutRequestElement(sp, pt, loc, idp.CauseLogout)
		if err != nil {
			return "", nil, err
		}
		raw, err := xmlBytes(el)
		if err != nil {
			return "", nil, err
		}
		u, err := p.redirectURL(loc, paramRequest, raw, key)
		if err != nil {
			return "", nil, err
		}
		return id, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, u, http.StatusSeeOther) }, nil
	}
	loc, _, ok := md.slo(bindingPost)
	if !ok {
		return "", nil, errors.New("no browser SingleLogoutService in the metadata")
	}
	id, el, err := p.logoutRequestElement(sp, pt, loc, idp.CauseLogout)
	if err == nil {
		err = p.keys.sign(el)
	}
	if err != nil {
		return "", nil, err
	}
	raw, err := xmlBytes(el)
	if err != nil {
		return "", nil, err
	}
	return id, func(w http.ResponseWriter, r *http.Request) { p.postForm(w, r, loc, paramRequest, raw, key) }, nil
}

// frontResponse serves an SP's LogoutResponse at /saml/slo (either
// binding): it must answer the LogoutRequest the chain named by its
// RelayState waits for, come from that SP (its signature checked when it
// carries one) and say Success. The result is recorded and the chain goes
// on whatever it says; only an unknown or spent chain ends at a page.
func (p *IdP) frontResponse(w http.ResponseWriter, r *http.Request) {
	var m *message
	var err error
	if r.Method == http.MethodPost {
		m, err = decodePost(w, r, paramResponse)
	} else {
		m, err = decodeRedirect(r.URL.RawQuery, paramResponse)
	}
	if err != nil {
		p.refuse(w, r, pageKey(err, "logout"), err)
		return
	}
	c, err := p.takeChain(r.Context(), m.relayState)
	if err == nil && c.Waiting == nil {
		err = fmt.Errorf("%w: the chain waits for no LogoutResponse", ErrMalformed)
	}
	if err != nil {
		p.refuse(w, r, chainPageKey(err), fmt.Errorf("LogoutResponse: %w", err))
		return
	}
	wait := *c.Waiting
	c.Waiting = nil
	err = p.checkLogoutResponse(m, wait)
	p.frontDone(c, wait.SP, err)
	if err != nil {
		p.logger.WarnContext(r.Context(), "saml front-channel logout response refused", "sp", wait.SP, "err", err)
	}
	p.frontNext(w, r, m.relayState, c)
}

// checkLogoutResponse checks an SP's LogoutResponse to the request wait.
func (p *IdP) checkLogoutResponse(m *message, wait frontWait) error {
	_, md, err := p.sps.lookup(wait.SP)
	if err != nil {
		return err
	}
	data := m.xml
	if m.sigAlg != "" || m.signature != nil {
		if err := verifyRedirect(m, md.signing, p.now()); err != nil {
			return err
		}
	}
	verified, signed, err := verifyEnveloped(m.xml, md.signing, p.now(), false)
	if err != nil {
		return err
	}
	if signed {
		data = verified
	}
	var lr crewjam.LogoutResponse
	if err := xml.Unmarshal(data, &lr); err != nil {
		return fmt.Errorf("%w: LogoutResponse: %v", ErrMalformed, err)
	}
	switch {
	case lr.Issuer == nil || strings.TrimSpace(lr.Issuer.Value) != wait.SP:
		return fmt.Errorf("LogoutResponse not from %s", wait.SP)
	case lr.InResponseTo != wait.ID:
		return fmt.Errorf("LogoutResponse answers %q, not %q", lr.InResponseTo, wait.ID)
	case lr.Destination != "" && lr.Destination != p.issuer+PathSLO:
		return fmt.Errorf("%w: %q", ErrDestination, lr.Destination)
	case lr.Status.StatusCode.Value != crewjam.StatusSuccess:
		return fmt.Errorf("LogoutResponse status %s", lr.Status.StatusCode.Value)
	}
	return nil
}

// frontDone records one front-channel delivery to sp.
func (p *IdP) frontDone(c *frontChain, sp string, err error) {
	p.svc.ReportDelivery(idp.LogoutDelivery{
		Kind: idp.DeliverySAMLFrontChannel, Client: sp,
		Session: &sessions.Session{FiscalCode: c.FiscalCode, IDHash: c.SessionHash},
	}, err)
}
