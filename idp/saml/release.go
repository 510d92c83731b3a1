package saml

import (
	"encoding/json"
	"net/http"
	"strings"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/sessions"
)

// release is what the SP will receive in the assertion (the attributes of
// its profile, as attributes builds them): the data-release page's list.
func release(sess *sessions.Session, entityID string, data json.RawMessage) idp.Release {
	rel := idp.Release{Kind: Kind, Client: entityID, Data: data}
	add := func(key, v string) {
		if v != "" {
			rel.Fields = append(rel.Fields, idp.ReleaseField{Key: key, Value: v})
		}
	}
	add(idp.FieldFiscalCode, sess.FiscalCode)
	add(idp.FieldGivenName, sess.GivenName)
	add(idp.FieldFamilyName, sess.FamilyName)
	add(idp.FieldRegion, sess.Region)
	add(idp.FieldCardType, sess.CardType)
	if len(sess.Roles) > 0 {
		add(idp.FieldRoles, strings.Join(sess.Roles, ", "))
		org := sess.OrganisationName
		if sess.OrganisationID != "" {
			org = strings.TrimSpace(org + " (" + sess.OrganisationID + ")")
		}
		add(idp.FieldOrganisation, org)
	}
	return rel
}

// pendingData is req as a pending request, for the data-release page to
// resume or cancel it.
func pendingData(req *crewjam.IdpAuthnRequest) json.RawMessage {
	pa := pendingAuthn{SP: req.ServiceProviderMetadata.EntityID, ID: req.Request.ID, ACS: req.ACSEndpoint.Location,
		RelayState: req.RelayState, ForceAuthn: req.Request.ForceAuthn != nil && *req.Request.ForceAuthn}
	raw, _ := json.Marshal(pa)
	return raw
}

// passiveRefused answers an IsPassive request that would need the
// data-release page with NoPassive (or the refusal page when the registry
// is down) and reports whether it has.
func (p *IdP) passiveRefused(w http.ResponseWriter, r *http.Request, req *crewjam.IdpAuthnRequest, sp *serviceProvider, sess *sessions.Session) bool {
	need, err := p.svc.ReleaseNeeded(r, sess, release(sess, sp.cfg.EntityID, nil))
	switch {
	case err != nil:
		p.refuse(w, r, "unavailable", err)
	case need:
		p.sendStatus(w, r, req, crewjam.StatusResponder, crewjam.StatusNoPassive)
	}
	return err != nil || need
}
