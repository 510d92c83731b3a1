package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/sessions"
)

// Ephemeral namespaces of single logout: the SP that started a logout
// (its own participant is not sent a LogoutRequest), and the POST-binding
// LogoutResponses waiting for the browser.
const (
	nsSLOInitiator = "saml-slo"
	nsSLOResponse  = "saml-slo-resp"
	sloTTL         = 15 * time.Minute
)

// logoutRequestXML is what cnsgate reads of a LogoutRequest.
type logoutRequestXML struct {
	XMLName       xml.Name        `xml:"urn:oasis:names:tc:SAML:2.0:protocol LogoutRequest"`
	ID            string          `xml:"ID,attr"`
	Version       string          `xml:"Version,attr"`
	IssueInstant  time.Time       `xml:"IssueInstant,attr"`
	NotOnOrAfter  time.Time       `xml:"NotOnOrAfter,attr"`
	Destination   string          `xml:"Destination,attr"`
	Issuer        *crewjam.Issuer `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameID        *crewjam.NameID `xml:"urn:oasis:names:tc:SAML:2.0:assertion NameID"`
	SessionIndexs []string        `xml:"urn:oasis:names:tc:SAML:2.0:protocol SessionIndex"`
}

func parseLogoutRequestXML(data []byte) (*logoutRequestXML, error) {
	var x logoutRequestXML
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case x.Issuer == nil || strings.TrimSpace(x.Issuer.Value) == "":
		return nil, fmt.Errorf("%w: no Issuer", ErrMalformed)
	case x.ID == "" || len(x.ID) > maxIDLength:
		return nil, fmt.Errorf("%w: missing or overlong ID", ErrMalformed)
	case x.Version != "2.0":
		return nil, fmt.Errorf("%w: Version %q", ErrMalformed, x.Version)
	case x.NameID == nil || strings.TrimSpace(x.NameID.Value) == "":
		return nil, fmt.Errorf("%w: no NameID (EncryptedID is not supported)", ErrMalformed)
	}
	return &x, nil
}

// parseLogoutRequest validates a LogoutRequest as parseAuthnRequest does
// an AuthnRequest.
// It fills req's x, sp, md and signed from req.m.
func (p *IdP) parseLogoutRequest(ctx context.Context, req *sloRequest) error {
	x, err := parseLogoutRequestXML(req.m.xml)
	if err != nil {
		return err
	}
	issuer := strings.TrimSpace(x.Issuer.Value)
	sp, md, err := p.sps.lookup(issuer)
	if err != nil {
		return fmt.Errorf("%w: %q", err, issuer)
	}
	now := p.now()
	signedXML, signed, err := checkSignatures(req.m, sp, md, now)
	if err != nil {
		return err
	}
	if signed {
		if x, err = parseLogoutRequestXML(signedXML); err != nil {
			return err
		}
		if strings.TrimSpace(x.Issuer.Value) != issuer {
			return fmt.Errorf("%w: Issuer changed under the signature", ErrBadSignature)
		}
	}
	if err := p.checkDestination(x.Destination, PathSLO, signed); err != nil {
		return err
	}
	if err := checkInstant(x.IssueInstant, now); err != nil {
		return err
	}
	if !x.NotOnOrAfter.IsZero() && !now.Before(x.NotOnOrAfter) {
		return fmt.Errorf("%w: past NotOnOrAfter", ErrStale)
	}
	if err := p.remember(ctx, "logout", issuer, x.ID); err != nil {
		return err
	}
	req.x, req.sp, req.md, req.signed = x, sp, md, signed
	return nil
}

// slo serves /saml/slo: an SP-initiated LogoutRequest in either binding,
// (GET ?done=) the POST-binding LogoutResponse after the logout, and the
// front-channel logout of frontchannel.go (GET ?fc=, and the SPs'
// LogoutResponses in either binding).
//
// A signed LogoutRequest that names the browser's session, from an SP
// that takes part in it, ends it at once through
// idp.Service.EndBrowserSession: the other participants are told (back
// channel, and front channel through the browser), then the browser goes
// to the SP's SingleLogoutService with a signed LogoutResponse. Shibboleth
// and mod_auth_mellon drop their own session before they send it, so a
// confirmation page the citizen closes would leave the cnsgate session
// open. An unsigned one (from an SP allowed not to sign) goes through
// idp.Service.ConfirmLogout, which asks the citizen to confirm first.
// Without a session the SP gets Success at once; a session the request
// does not name is left alone and the SP gets Requester/UnknownPrincipal.
func (p *IdP) slo(w http.ResponseWriter, r *http.Request) {
	if p.sloNotRequest(w, r) {
		return
	}
	req, ok := p.readLogoutRequest(w, r)
	if !ok {
		return
	}
	sess, err := p.svc.CurrentSession(r)
	if err != nil && !errors.Is(err, sessions.ErrNotFound) {
		p.refuse(w, r, "unavailable", err)
		return
	}
	named := sess != nil && names(sess, req.sp.cfg.EntityID, req.x)
	status, sub := crewjam.StatusSuccess, ""
	if sess != nil && !named {
		status, sub = crewjam.StatusRequester, crewjam.StatusUnknownPrincipal
	}
	next, err := p.logoutResponse(r.Context(), req.md, req.x.ID, req.m.relayState, status, sub)
	if err != nil {
		p.refuse(w, r, "internal", err)
		return
	}
	p.logger.InfoContext(r.Context(), "saml logout request", "sp", req.sp.cfg.EntityID, "session", sess != nil, "named", named, "signed", req.signed)
	p.answerLogoutRequest(w, r, req, sess, named, next)
}

// sloNotRequest serves what reaches /saml/slo but a LogoutRequest: the
// ?done= and ?fc= pages and an SP's LogoutResponse (either binding). It
// reports whether it answered.
func (p *IdP) sloNotRequest(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && q.Has("done"):
		p.sloDone(w, r)
	case r.Method == http.MethodGet && q.Has(paramChain):
		p.frontStart(w, r)
	case r.Method == http.MethodGet && q.Has(paramResponse):
		p.frontResponse(w, r)
	case r.Method == http.MethodPost:
		if err := parseForm(w, r); err != nil {
			p.refuse(w, r, pageKey(err, "logout"), err)
			return true
		}
		if !r.PostForm.Has(paramResponse) {
			return false
		}
		p.frontResponse(w, r)
	default:
		return false
	}
	return true
}

// sloRequest is a LogoutRequest read and checked: the message, its XML,
// and the SP that sent it.
type sloRequest struct {
	m      *message
	x      *logoutRequestXML
	sp     *serviceProvider
	md     *spMetadata
	signed bool // its signature (query string or XML) was verified
}

// readLogoutRequest decodes the LogoutRequest of either binding and checks
// it. When it cannot, it has answered (the refusal page, or the repost of
// a cross-site POST).
func (p *IdP) readLogoutRequest(w http.ResponseWriter, r *http.Request) (*sloRequest, bool) {
	var req sloRequest
	var err error
	if r.Method == http.MethodPost {
		if req.m, err = decodePost(w, r, paramRequest); err == nil && needsRepost(r) {
			p.repost(w, r, PathSLO, req.m)
			return nil, false
		}
	} else {
		req.m, err = decodeRedirect(r.URL.RawQuery, paramRequest)
	}
	if err == nil {
		err = p.parseLogoutRequest(r.Context(), &req)
	}
	if err != nil {
		p.refuse(w, r, pageKey(err, "logout"), err)
		return nil, false
	}
	return &req, true
}

// answerLogoutRequest ends the session the request names (at once when
// the request is signed, after the citizen confirms otherwise), or sends
// the SP its answer at once.
func (p *IdP) answerLogoutRequest(w http.ResponseWriter, r *http.Request, req *sloRequest, sess *sessions.Session, named bool, next string) {
	sp := req.sp
	switch {
	case named:
		if err := p.eph.Put(r.Context(), nsSLOInitiator, sessionKey(sess), []byte(sp.cfg.EntityID), sloTTL); err != nil {
			p.refuse(w, r, "unavailable", err)
			return
		}
		if req.signed {
			p.svc.EndBrowserSession(w, r, sess, next)
			return
		}
		p.svc.ConfirmLogout(w, r, next)
	case sess == nil:
		p.svc.ConfirmLogout(w, r, next) // no session: straight to next or the logged-out page
	case next != "":
		http.Redirect(w, r, next, http.StatusSeeOther)
	default:
		p.refuse(w, r, "logout", errors.New("saml: LogoutRequest names another session and the SP has no SingleLogoutService"))
	}
}

// names reports whether the LogoutRequest names the session's participant
// for the SP: its NameID, and its SessionIndex when the request lists any.
func names(sess *sessions.Session, entityID string, x *logoutRequestXML) bool {
	for _, pt := range sess.Participants {
		if pt.Protocol != sessions.ProtocolSAML || pt.ClientID != entityID {
			continue
		}
		if pt.NameID != strings.TrimSpace(x.NameID.Value) {
			return false
		}
		return len(x.SessionIndexs) == 0 || slices.Contains(x.SessionIndexs, pt.SID)
	}
	return false
}

// logoutResponse builds the signed LogoutResponse and returns the URL that
// delivers it: the SP's Redirect-binding endpoint with a signed query, or
// for a POST-only SP this endpoint's ?done= page. "" when the SP lists no
// SingleLogoutService for a browser binding.
func (p *IdP) logoutResponse(ctx context.Context, md *spMetadata, inResponseTo, relayState, status, sub string) (string, error) {
	id, err := p.newID()
	if err != nil {
		return "", err
	}
	resp := &crewjam.LogoutResponse{
		ID: id, InResponseTo: inResponseTo, Version: "2.0", IssueInstant: p.now().UTC(),
		Issuer: &crewjam.Issuer{Format: entityFormat, Value: p.entityID},
		Status: crewjam.Status{StatusCode: crewjam.StatusCode{Value: status}},
	}
	if sub != "" {
		resp.Status.StatusCode.StatusCode = &crewjam.StatusCode{Value: sub}
	}
	if _, loc, ok := md.slo(bindingRedirect); ok {
		resp.Destination = loc
		raw, err := xmlBytes(resp.Element())
		if err != nil {
			return "", err
		}
		return p.redirectURL(loc, paramResponse, raw, relayState)
	}
	_, loc, ok := md.slo(bindingPost)
	if !ok {
		return "", nil
	}
	resp.Destination = loc
	el := resp.Element()
	if err := p.keys.sign(el); err != nil {
		return "", err
	}
	raw, err := xmlBytes(el)
	if err != nil {
		return "", err
	}
	key, err := p.newID()
	if err != nil {
		return "", err
	}
	val, _ := json.Marshal(postedMessage{Action: loc, Value: raw, RelayState: relayState})
	if err := p.eph.Put(ctx, nsSLOResponse, key, val, sloTTL); err != nil {
		return "", err
	}
	return p.issuer + PathSLO + "?done=" + key, nil
}

// postedMessage is a LogoutResponse waiting for the browser.
type postedMessage struct {
	Action     string `json:"action"`
	Value      []byte `json:"value"`
	RelayState string `json:"relay_state,omitempty"`
}

// sloDone posts a stored LogoutResponse to the SP (once).
func (p *IdP) sloDone(w http.ResponseWriter, r *http.Request) {
	raw, err := p.eph.Take(r.Context(), nsSLOResponse, r.URL.Query().Get("done"))
	var pm postedMessage
	if err == nil {
		err = json.Unmarshal(raw, &pm)
	}
	if err != nil {
		key := "logout"
		if !errors.Is(err, sessions.ErrNotFound) {
			if _, ok := err.(*json.SyntaxError); !ok {
				key = "unavailable"
			}
		}
		p.refuse(w, r, key, err)
		return
	}
	p.postForm(w, r, pm.Action, paramResponse, pm.Value, pm.RelayState)
}

// redirectURL encodes a message for the HTTP-Redirect binding and signs
// the query string (bindings 3.4.4.1); the XML itself carries no signature.
func (p *IdP) redirectURL(location, param string, raw []byte, relayState string) (string, error) {
	q, err := redirectQuery(p.keys, param, raw, relayState)
	if err != nil {
		return "", err
	}
	sep := "?"
	if strings.Contains(location, "?") {
		sep = "&"
	}
	return location + sep + q, nil
}

// redirectQuery deflates and encodes raw as param and, when k is not nil,
// adds SigAlg and the Signature over the query string.
func redirectQuery(k *keyPair, param string, raw []byte, relayState string) (string, error) {
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := fw.Write(raw); err != nil {
		return "", err
	}
	if err := fw.Close(); err != nil {
		return "", err
	}
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if k == nil {
		return q, nil
	}
	q += "&SigAlg=" + url.QueryEscape(k.method)
	sig, err := k.signString(q)
	if err != nil {
		return "", err
	}
	return q + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig)), nil
}

func xmlBytes(el *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el)
	return doc.WriteToBytes()
}
