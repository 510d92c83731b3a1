package saml

import (
	"encoding/json"
	"errors"
	"net/http"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
)

// pendingAuthn is what waits in idp's pending request while the citizen
// logs in: the validated essentials of the AuthnRequest, never the raw
// message (its lifetime checks were done on arrival).
type pendingAuthn struct {
	SP         string `json:"sp"`
	ID         string `json:"id"`
	ACS        string `json:"acs"`
	RelayState string `json:"relay_state,omitempty"`
	ForceAuthn bool   `json:"force_authn,omitempty"`
}

// sso serves /saml/sso in both bindings.
func (p *IdP) sso(w http.ResponseWriter, r *http.Request) {
	var m *message
	var err error
	if r.Method == http.MethodPost {
		if m, err = decodePost(w, r, paramRequest); err == nil && needsRepost(r) {
			p.repost(w, r, PathSSO, m)
			return
		}
	} else {
		m, err = decodeRedirect(r.URL.RawQuery, paramRequest)
	}
	var ar *authnRequest
	if err == nil {
		ar, err = p.parseAuthnRequest(r.Context(), m)
	}
	var denied *deniedError
	if errors.As(err, &denied) {
		d := denied.ar
		p.countRefusal(err)
		p.logger.WarnContext(r.Context(), "saml request refused", "err", err, "sp", d.sp.cfg.EntityID, "answer", "RequestDenied")
		req := p.idpAuthnRequest(r, d.md, d.acs, pendingAuthn{SP: d.sp.cfg.EntityID, ID: d.x.ID})
		p.sendStatus(w, r, req, crewjam.StatusRequester, crewjam.StatusRequestDenied)
		return
	}
	if err != nil {
		p.refuse(w, r, pageKey(err, "request"), err)
		return
	}
	pa := pendingAuthn{SP: ar.sp.cfg.EntityID, ID: ar.x.ID, ACS: ar.acs.Location, RelayState: ar.relayState, ForceAuthn: ar.x.ForceAuthn}
	req := p.idpAuthnRequest(r, ar.md, ar.acs, pa)
	switch {
	case !nameIDPolicyMet(&ar.x, ar.sp):
		p.sendStatus(w, r, req, crewjam.StatusRequester, crewjam.StatusInvalidNameIDPolicy)
		return
	case !authnContextMet(ar.x.RequestedAuthnContext):
		p.sendStatus(w, r, req, crewjam.StatusResponder, crewjam.StatusNoAuthnContext)
		return
	case ar.x.IsPassive:
		p.passive(w, r, req, ar)
		return
	}
	if sess, sp := p.session(w, r, req); sess != nil {
		p.answer(w, r, req, ar.md, sp, sess)
	}
}

// passive answers an IsPassive request: with the current session, or
// NoPassive when there is none (or ForceAuthn asks for a new login), never
// with a page.
func (p *IdP) passive(w http.ResponseWriter, r *http.Request, req *crewjam.IdpAuthnRequest, ar *authnRequest) {
	sess, err := p.svc.CurrentSession(r)
	if err != nil && !errors.Is(err, sessions.ErrNotFound) {
		p.refuse(w, r, "unavailable", err)
		return
	}
	if err != nil || ar.x.ForceAuthn {
		p.sendStatus(w, r, req, crewjam.StatusResponder, crewjam.StatusNoPassive)
		return
	}
	if !p.passiveRefused(w, r, req, ar.sp, sess) {
		p.answer(w, r, req, ar.md, ar.sp, sess)
	}
}

// idpAuthnRequest is crewjam's view of a validated request.
func (p *IdP) idpAuthnRequest(r *http.Request, md *spMetadata, acs crewjam.IndexedEndpoint, pa pendingAuthn) *crewjam.IdpAuthnRequest {
	force := pa.ForceAuthn
	return &crewjam.IdpAuthnRequest{
		IDP: p.idp, HTTPRequest: r, RelayState: pa.RelayState,
		Request: crewjam.AuthnRequest{
			ID: pa.ID, Version: "2.0", ForceAuthn: &force,
			Issuer: &crewjam.Issuer{Format: entityFormat, Value: pa.SP},
		},
		ServiceProviderMetadata: md.entity, SPSSODescriptor: md.sso, ACSEndpoint: &acs, Now: p.now().UTC(),
	}
}

// session returns the citizen's live session for req's SP, or, when there
// is none or the SP asked for ForceAuthn, shows the "Accedi con TS/CNS"
// page through idp.Service.BeginLogin and returns nil (nil too once a
// refusal has been written). The login ends in resume.
func (p *IdP) session(w http.ResponseWriter, r *http.Request, req *crewjam.IdpAuthnRequest) (*sessions.Session, *serviceProvider) {
	entityID := req.ServiceProviderMetadata.EntityID
	sp, _, err := p.sps.lookup(entityID)
	if err != nil {
		p.refuse(w, r, "request", err)
		return nil, nil
	}
	force := req.Request.ForceAuthn != nil && *req.Request.ForceAuthn
	if !force {
		sess, err := p.svc.CurrentSession(r)
		if err == nil {
			return sess, sp
		}
		if !errors.Is(err, sessions.ErrNotFound) {
			p.refuse(w, r, "unavailable", err)
			return nil, nil
		}
	}
	data, err := json.Marshal(pendingAuthn{
		SP: entityID, ID: req.Request.ID, ACS: req.ACSEndpoint.Location, RelayState: req.RelayState, ForceAuthn: force,
	})
	if err != nil {
		p.refuse(w, r, "internal", err)
		return nil, nil
	}
	p.svc.BeginLogin(w, r, idp.PendingRequest{Kind: Kind, Data: data, ForceLogin: force, Client: entityID})
	return nil, nil
}

// resume finishes a request once the citizen has logged in with the card
// (the ResumeFunc of Kind), read back by pendingRequest.
func (p *IdP) resume(w http.ResponseWriter, r *http.Request, sess *sessions.Session, data json.RawMessage) {
	if req, md, sp, ok := p.pendingRequest(w, r, data); ok {
		p.answer(w, r, req, md, sp, sess)
	}
}

// samlSession is crewjam's view of a session for one SP: the opaque
// identifiers derived for it and the attributes of its profile. ID carries
// the session id, for AddParticipant only.
func (p *IdP) samlSession(sess *sessions.Session, sp *serviceProvider) *crewjam.Session {
	return &crewjam.Session{
		ID: sess.ID, CreateTime: sess.AuthTime, ExpireTime: sess.AbsoluteDeadline,
		Index: p.sessionIndex(sess, sp), NameID: p.nameID(sess, sp), NameIDFormat: sp.nameIDFormat(),
		CustomAttributes: attributes(sp.cfg.AttributeProfile, sess),
	}
}

// answer issues the assertion: it records the SP as a participant of the
// session (for logout), then posts the signed Response to the ACS.
func (p *IdP) answer(w http.ResponseWriter, r *http.Request, req *crewjam.IdpAuthnRequest, md *spMetadata, sp *serviceProvider, sess *sessions.Session) {
	ctx := r.Context()
	if !p.svc.Permit(w, r, sess, sp.cfg.EntityID) { // audience and required roles: nothing issued
		return
	}
	if !p.svc.ReleaseAgreed(w, r, sess, release(sess, sp.cfg.EntityID, pendingData(req))) { // the data-release page
		return
	}
	s := p.samlSession(sess, sp)
	entityID := md.entity.EntityID
	if err := p.makeAssertion(req, s); err != nil {
		p.refuse(w, r, "internal", err)
		return
	}
	err := p.store.AddParticipant(ctx, s.ID, sessions.Participant{
		Protocol: sessions.ProtocolSAML, ClientID: entityID, SID: s.Index, NameID: s.NameID,
	})
	p.svc.SessionExpired(ctx, err) // a deadline passed meanwhile: the session ends
	if err != nil {
		if errors.Is(err, sessions.ErrNotFound) || errors.Is(err, sessions.ErrExpired) {
			p.refuse(w, r, "session", err)
		} else {
			p.refuse(w, r, "unavailable", err)
		}
		return
	}
	var raw []byte
	if err = p.sealAssertion(req, md); err == nil {
		if err = req.MakeResponse(); err == nil {
			raw, err = xmlBytes(req.ResponseEl)
		}
	}
	if err != nil {
		p.refuse(w, r, "internal", err)
		return
	}
	p.recorder.TokenIssued(TokenAssertion, entityID)
	p.svc.Audit(ctx, registry.Event{Kind: registry.KindTokenIssued, Outcome: registry.OutcomeSuccess, Client: entityID,
		FiscalCode: sess.FiscalCode, CardSerial: sess.CardSerial, Issuer: sess.Issuer, SessionHash: sess.IDHash,
		Detail: []byte(`{"token":"saml_assertion"}`)})
	p.logger.InfoContext(ctx, "saml assertion issued", "sp", entityID, "session", sessions.HashKey(s.ID)[:16],
		"encrypted", md.encryption != nil, "request_id", req.Request.ID)
	p.postForm(w, r, req.ACSEndpoint.Location, paramResponse, raw, req.RelayState)
}
