package saml

import (
	"encoding/json"
	"fmt"
	"net/http"

	crewjam "github.com/crewjam/saml"
)

// cancel answers an AuthnRequest the citizen cancelled ("Annulla" on the
// login, refusal or data-release page; the CancelFunc of Kind): a signed
// Response of status Responder/RequestDenied and no assertion, to the ACS
// of the request, with its RelayState.
func (p *IdP) cancel(w http.ResponseWriter, r *http.Request, data json.RawMessage) {
	req, _, _, ok := p.pendingRequest(w, r, data)
	if !ok {
		return
	}
	p.sendStatus(w, r, req, crewjam.StatusResponder, crewjam.StatusRequestDenied)
}

// pendingRequest reads a pending request back: the SP and its ACS are
// looked up again, since the metadata may have changed while the citizen
// found the card. When it cannot, it has answered with the refusal page.
func (p *IdP) pendingRequest(w http.ResponseWriter, r *http.Request, data json.RawMessage) (*crewjam.IdpAuthnRequest, *spMetadata, *serviceProvider, bool) {
	var pa pendingAuthn
	if err := json.Unmarshal(data, &pa); err != nil {
		p.refuse(w, r, "internal", fmt.Errorf("pending request: %w", err))
		return nil, nil, nil, false
	}
	sp, md, err := p.sps.lookup(pa.SP)
	if err != nil {
		p.refuse(w, r, "request", err)
		return nil, nil, nil, false
	}
	acs, ok := md.acs(nil, pa.ACS)
	if !ok {
		p.refuse(w, r, "request", fmt.Errorf("%w: %q left the metadata", ErrACS, pa.ACS))
		return nil, nil, nil, false
	}
	return p.idpAuthnRequest(r, md, acs, pa), md, sp, true
}
