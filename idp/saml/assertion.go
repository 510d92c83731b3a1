package saml

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/sessions"
)

const (
	acrSmartcard = idp.ACRSmartcard
	entityFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
	bearer       = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	formatBasic  = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	formatURI    = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
)

// makeAssertion sets req.Assertion for session s (see IdP.samlSession).
// crewjam's DefaultAssertionMaker claims PasswordProtectedTransport, sends
// the client's IP address and picks attributes by guesswork; a card login
// asserts SmartcardPKI and the attributes of the Contract, by the SP's
// attribute_profile.
func (p *IdP) makeAssertion(req *crewjam.IdpAuthnRequest, s *crewjam.Session) error {
	id, err := p.newID()
	if err != nil {
		return err
	}
	now := req.Now.UTC()
	until := now.Add(p.lifetime)
	spID := req.ServiceProviderMetadata.EntityID
	stmt := crewjam.AuthnStatement{
		AuthnInstant: s.CreateTime.UTC(), SessionIndex: s.Index,
		AuthnContext: crewjam.AuthnContext{AuthnContextClassRef: &crewjam.AuthnContextClassRef{Value: acrSmartcard}},
	}
	if !s.ExpireTime.IsZero() {
		end := s.ExpireTime.UTC()
		stmt.SessionNotOnOrAfter = &end
	}
	req.Assertion = &crewjam.Assertion{
		ID: id, IssueInstant: now, Version: "2.0",
		Issuer: crewjam.Issuer{Format: entityFormat, Value: p.entityID},
		Subject: &crewjam.Subject{
			NameID: &crewjam.NameID{Format: s.NameIDFormat, NameQualifier: p.entityID, SPNameQualifier: spID, Value: s.NameID},
			SubjectConfirmations: []crewjam.SubjectConfirmation{{
				Method: bearer,
				SubjectConfirmationData: &crewjam.SubjectConfirmationData{
					InResponseTo: req.Request.ID, NotOnOrAfter: until, Recipient: req.ACSEndpoint.Location,
				},
			}},
		},
		Conditions: &crewjam.Conditions{
			NotBefore: now.Add(-p.skew), NotOnOrAfter: until,
			AudienceRestrictions: []crewjam.AudienceRestriction{{Audience: crewjam.Audience{Value: spID}}},
		},
		AuthnStatements:     []crewjam.AuthnStatement{stmt},
		AttributeStatements: []crewjam.AttributeStatement{{Attributes: s.CustomAttributes}},
	}
	return nil
}

// attrName is how a profile names one attribute of the Contract.
type attrName struct{ name, friendly, format string }

// profiles maps each attribute of the Contract (fiscalNumber, name,
// familyName, region, role) to its name in each attribute_profile. The
// "oid" names are X.520 and eduPerson: serialNumber carries the ETSI EN
// 319 412-1 natural-person identifier, which is exactly "TINIT-<CF>".
var profiles = map[AttributeProfile]map[string]attrName{
	ProfileSPID: {
		"fiscalNumber": {"fiscalNumber", "", formatBasic},
		"name":         {"name", "", formatBasic},
		"familyName":   {"familyName", "", formatBasic},
		"region":       {"region", "", formatBasic},
		"role":         {"role", "", formatBasic},
	},
	ProfileOID: {
		"fiscalNumber": {"urn:oid:2.5.4.5", "serialNumber", formatURI},
		"name":         {"urn:oid:2.5.4.42", "givenName", formatURI},
		"familyName":   {"urn:oid:2.5.4.4", "sn", formatURI},
		"region":       {"urn:oid:2.5.4.8", "st", formatURI},
		"role":         {"urn:oid:1.3.6.1.4.1.5923.1.1.1.7", "eduPersonEntitlement", formatURI},
	},
}

// attributes are the session's attributes under profile (spid when
// unknown); an attribute without a value is left out, role is sent to
// operators only.
func attributes(profile AttributeProfile, s *sessions.Session) []crewjam.Attribute {
	names, ok := profiles[profile]
	if !ok {
		names = profiles[ProfileSPID]
	}
	var out []crewjam.Attribute
	add := func(key string, values ...string) {
		var vs []crewjam.AttributeValue
		for _, v := range values {
			if v != "" {
				vs = append(vs, crewjam.AttributeValue{Type: "xs:string", Value: v})
			}
		}
		if len(vs) == 0 {
			return
		}
		n := names[key]
		out = append(out, crewjam.Attribute{Name: n.name, FriendlyName: n.friendly, NameFormat: n.format, Values: vs})
	}
	add("fiscalNumber", "TINIT-"+s.FiscalCode)
	add("name", s.GivenName)
	add("familyName", s.FamilyName)
	add("region", s.Region)
	add("role", s.Roles...)
	return out
}

// nameID is the NameID the SP receives: persistent, an HMAC of the SP and
// the fiscal code (stable, opaque, different for every SP); or transient,
// an HMAC of the SP and the session (the same for the whole session, so
// that a LogoutRequest can name it, and unlinkable across sessions).
func (p *IdP) nameID(s *sessions.Session, sp *serviceProvider) string {
	if sp.cfg.NameIDFormat == NameIDTransient {
		return p.derive("nameid-transient", sp.cfg.EntityID, sessionKey(s))
	}
	return p.derive("nameid-persistent", sp.cfg.EntityID, s.FiscalCode)
}

// sessionIndex is the SessionIndex the SP receives: opaque, per SP.
func (p *IdP) sessionIndex(s *sessions.Session, sp *serviceProvider) string {
	return "_" + p.derive("session-index", sp.cfg.EntityID, sessionKey(s))
}

func (p *IdP) derive(label string, parts ...string) string {
	m := hmac.New(sha256.New, p.salt)
	m.Write([]byte(label))
	for _, part := range parts {
		m.Write([]byte{0})
		m.Write([]byte(part))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sessionKey identifies a session without its bearer secret.
func sessionKey(s *sessions.Session) string {
	if s.IDHash != "" {
		return s.IDHash
	}
	return sessions.HashKey(s.ID)
}
