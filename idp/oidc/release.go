package oidc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/sessions"
)

// claimFields maps the claims about the citizen onto the fields of the
// data-release page, in the order the page lists them.
var claimFields = []struct{ claim, field string }{
	{ClaimFiscalNumber, idp.FieldFiscalCode},
	{ClaimGivenName, idp.FieldGivenName},
	{ClaimFamilyName, idp.FieldFamilyName},
	{ClaimCardID, idp.FieldCardID},
	{ClaimCardType, idp.FieldCardType},
	{ClaimRegion, idp.FieldRegion},
	{ClaimRoles, idp.FieldRoles},
	{ClaimOrganisationName, idp.FieldOrganisation},
}

// release is what the client will receive in this session (the claims of
// its granted scopes and of the claims parameter, those of the ID token and
// of userinfo alike): the data-release page's list.
func (p *Provider) release(c *client, sess *sessions.Session, req authRequest, data json.RawMessage) idp.Release {
	asked := slices.Concat(req.Claims.idToken(), req.Claims.userinfo())
	claims := p.userClaims(c, sess, p.subject(c, sess.FiscalCode), req.Scopes, asked)
	rel := idp.Release{Kind: Kind, Client: c.id, Data: data}
	for _, cf := range claimFields {
		v, ok := claims[cf.claim]
		if !ok {
			if v, ok = claims[NamespaceEID+cf.claim]; !ok {
				continue
			}
		}
		s := fmt.Sprint(v)
		switch x := v.(type) {
		case []string:
			s = strings.Join(x, ", ")
		case string:
			s = strings.TrimPrefix(x, "TINIT-")
		}
		if cf.claim == ClaimOrganisationName {
			if id, _ := claims[ClaimOrganisationID].(string); id != "" {
				s += " (" + id + ")"
			}
		}
		rel.Fields = append(rel.Fields, idp.ReleaseField{Key: cf.field, Value: s})
	}
	return rel
}

// releaseOf is the release of a resumed request: for prompt=consent of a
// spid or cie client the page is shown whatever was agreed before, and
// the request it resumes no longer asks for it.
func (p *Provider) releaseOf(c *client, sess *sessions.Session, req authRequest, data json.RawMessage) idp.Release {
	rel := p.release(c, sess, req, data)
	if req.Consent && c.italian() {
		req.Consent = false
		rel.Data, _ = json.Marshal(req)
		rel.Force = true
	}
	return rel
}
