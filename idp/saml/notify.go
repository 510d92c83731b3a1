package saml

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/sessions"
)

// maxSOAPResponse caps the answer of an SP's SOAP endpoint.
const maxSOAPResponse = 64 << 10

const soapNS = "http://schemas.xmlsoap.org/soap/envelope/"

// logoutReasons maps idp's causes to the Reason of a LogoutRequest.
var logoutReasons = map[string]string{
	idp.CauseIdle:     "urn:oasis:names:tc:SAML:2.0:logout:global-timeout",
	idp.CauseAbsolute: "urn:oasis:names:tc:SAML:2.0:logout:global-timeout",
	idp.CauseRevoked:  "urn:oasis:names:tc:SAML:2.0:logout:admin",
	idp.CauseAdmin:    "urn:oasis:names:tc:SAML:2.0:logout:admin",
	// The citizen's own acts on "La mia tessera".
	idp.CauseConsentWithdrawn: "urn:oasis:names:tc:SAML:2.0:logout:user",
	idp.CauseUnregistered:     "urn:oasis:names:tc:SAML:2.0:logout:user",
}

// SessionEnded implements idp.LogoutNotifier: every SAML participant of
// the ended session, but the SP that asked for the logout, gets a signed
// LogoutRequest over the SOAP binding (back-channel) when its metadata
// lists a SOAP SingleLogoutService; the login service's logout-delivery
// engine sends it and checks the LogoutResponse with postSOAP.
//
// An SP that lists only browser bindings (Redirect, POST) is told through
// the citizen's browser when the citizen logs out (frontchannel.go): the
// steps are planned here and run by FrontChannel. When a session ends
// without the citizen (a timeout, a revocation, an administrator) such
// SPs are not told; the log says so.
func (p *IdP) SessionEnded(ctx context.Context, sess *sessions.Session, cause string) []idp.LogoutDelivery {
	skip := ""
	if b, err := p.eph.Take(ctx, nsSLOInitiator, sessionKey(sess)); err == nil {
		skip = string(b)
	}
	var out []idp.LogoutDelivery
	var plan []frontStep
	defer func() {
		if len(plan) > 0 {
			p.savePlan(ctx, sess, plan)
		}
	}()
	for _, pt := range sess.Participants {
		if pt.Protocol != sessions.ProtocolSAML || pt.ClientID == skip {
			continue
		}
		d := idp.LogoutDelivery{Kind: idp.DeliverySAML, Client: pt.ClientID, Session: sess}
		sp, md, err := p.sps.lookup(pt.ClientID)
		if err != nil {
			d.Attempt = failed(fmt.Errorf("service provider not found: %w", err))
			out = append(out, d)
			continue
		}
		loc, _, ok := md.slo(crewjam.SOAPBinding)
		switch {
		case !ok && byTheCitizen(cause) && md.hasBrowserSLO():
			plan = append(plan, frontStep{SP: sp.cfg.EntityID, NameID: pt.NameID, SID: pt.SID})
			continue
		case !ok:
			p.logger.InfoContext(ctx, "saml participant not told of the session end: no SOAP SingleLogoutService, and no browser for a front-channel logout",
				"sp", pt.ClientID, "cause", cause)
			continue
		}
		d.Client = sp.cfg.EntityID
		id, body, err := p.soapLogoutRequest(sp, pt, loc, cause)
		if err != nil {
			d.Attempt = failed(fmt.Errorf("logout request not built: %w", err))
		} else {
			d.Attempt = func(ctx context.Context) (bool, error) { return p.postSOAP(ctx, md, loc, id, body) }
		}
		out = append(out, d)
	}
	return out
}

// byTheCitizen reports whether a session ended for cause by the citizen's
// own act in the browser ("Esci"; on "La mia tessera", the consent
// withdrawn or the card removed), which can then be sent through the
// front-channel logouts.
func byTheCitizen(cause string) bool {
	return cause == idp.CauseLogout || cause == idp.CauseConsentWithdrawn || cause == idp.CauseUnregistered
}

// failed is the attempt of a delivery that cannot be made: it fails at
// once, for good, and the engine records it.
func failed(err error) func(context.Context) (bool, error) {
	return func(context.Context) (bool, error) { return false, err }
}

// logoutRequestElement builds the (unsigned) LogoutRequest telling
// participant pt of sp, at loc, that the session ended for cause.
func (p *IdP) logoutRequestElement(sp *serviceProvider, pt sessions.Participant, loc, cause string) (string, *etree.Element, error) {
	id, err := p.newID()
	if err != nil {
		return "", nil, err
	}
	now := p.now().UTC()
	until := now.Add(p.lifetime)
	req := &crewjam.LogoutRequest{
		ID: id, Version: "2.0", IssueInstant: now, NotOnOrAfter: &until, Destination: loc,
		Issuer: &crewjam.Issuer{Format: entityFormat, Value: p.entityID},
		NameID: &crewjam.NameID{
			Format: sp.nameIDFormat(), NameQualifier: p.entityID, SPNameQualifier: sp.cfg.EntityID, Value: pt.NameID,
		},
	}
	if pt.SID != "" {
		req.SessionIndex = &crewjam.SessionIndex{Value: pt.SID}
	}
	el := req.Element()
	reason, ok := logoutReasons[cause]
	if !ok {
		reason = "urn:oasis:names:tc:SAML:2.0:logout:user"
	}
	el.CreateAttr("Reason", reason)
	return id, el, nil
}

// soapLogoutRequest builds a signed LogoutRequest for participant pt in a
// SOAP 1.1 envelope.
func (p *IdP) soapLogoutRequest(sp *serviceProvider, pt sessions.Participant, loc, cause string) (string, []byte, error) {
	id, el, err := p.logoutRequestElement(sp, pt, loc, cause)
	if err != nil {
		return "", nil, err
	}
	if err := p.keys.sign(el); err != nil {
		return "", nil, err
	}
	env := etree.NewElement("soap11:Envelope")
	env.CreateAttr("xmlns:soap11", soapNS)
	env.CreateElement("soap11:Body").AddChild(el)
	body, err := xmlBytes(env)
	return id, body, err
}

// postSOAP sends one LogoutRequest and checks the LogoutResponse: its
// InResponseTo, a Success status and, when it is signed, its signature.
// retry says whether another attempt may succeed: a network error, a 5xx
// or 429 answer, or an answer cut short. A 4xx answer and a LogoutResponse
// that is wrong or not Success are final.
func (p *IdP) postSOAP(ctx context.Context, md *spMetadata, loc, id string, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, loc, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "http://www.oasis-open.org/committees/security")
	resp, err := p.http.Do(req)
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxSOAPResponse+1))
	if err != nil {
		return true, err
	}
	if resp.StatusCode != http.StatusOK {
		retry, _ := idp.StatusOutcome(resp.StatusCode)
		return retry, fmt.Errorf("SOAP endpoint answered %s", resp.Status)
	}
	if len(raw) > maxSOAPResponse {
		return false, fmt.Errorf("%w: SOAP answer", ErrTooLarge)
	}
	lr, err := p.parseSOAPLogoutResponse(raw, md)
	if err != nil {
		return false, err
	}
	if lr.InResponseTo != id {
		return false, fmt.Errorf("LogoutResponse answers %q, not %q", lr.InResponseTo, id)
	}
	if lr.Status.StatusCode.Value != crewjam.StatusSuccess {
		return false, fmt.Errorf("LogoutResponse status %s", lr.Status.StatusCode.Value)
	}
	return false, nil
}

func (p *IdP) parseSOAPLogoutResponse(raw []byte, md *spMetadata) (*crewjam.LogoutResponse, error) {
	inner, err := soapBody(raw)
	if err != nil {
		return nil, err
	}
	// Serialize the message with the namespaces it inherits.
	msg, err := xmlBytes(detach(inner))
	if err != nil {
		return nil, err
	}
	if signed, isSigned, err := verifyEnveloped(msg, md.signing, p.now(), false); err != nil {
		return nil, err
	} else if isSigned {
		msg = signed
	}
	var lr crewjam.LogoutResponse
	if err := xml.Unmarshal(msg, &lr); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if strings.TrimSpace(lr.Issuer.Value) != md.entity.EntityID {
		return nil, fmt.Errorf("LogoutResponse from %q", lr.Issuer.Value)
	}
	return &lr, nil
}

// soapBody checks that raw is a SOAP 1.1 envelope and returns the one
// message its Body holds.
func soapBody(raw []byte) (*etree.Element, error) {
	if err := checkXML(raw); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "Envelope" || root.NamespaceURI() != soapNS {
		return nil, fmt.Errorf("%w: not a SOAP envelope", ErrMalformed)
	}
	var inner *etree.Element
	for _, b := range root.ChildElements() {
		if b.Tag == "Body" && b.NamespaceURI() == soapNS && len(b.ChildElements()) == 1 {
			inner = b.ChildElements()[0]
		}
	}
	if inner == nil {
		return nil, errors.New("SOAP body holds no single message")
	}
	return inner, nil
}

// detach copies el out of its document, declaring on it the namespace
// prefixes its ancestors declared.
func detach(el *etree.Element) *etree.Element {
	c := el.Copy()
	declared := map[string]bool{}
	for _, a := range c.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			declared[a.Key] = true
		}
	}
	for anc := el.Parent(); anc != nil; anc = anc.Parent() {
		for _, a := range anc.Attr {
			key := a.Key
			if a.Space == "" && a.Key == "xmlns" {
				key = "xmlns"
			} else if a.Space != "xmlns" {
				continue
			}
			if !declared[key] {
				declared[key] = true
				c.CreateAttr(a.FullKey(), a.Value)
			}
		}
	}
	return c
}
