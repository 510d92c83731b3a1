package oidc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/sessions"
)

// The claims of the Contract.
const (
	ClaimFiscalNumber = "fiscal_number" // "TINIT-" + fiscal code
	ClaimGivenName    = "given_name"
	ClaimFamilyName   = "family_name"
	ClaimCardID       = "card_id"
	ClaimCardType     = "card_type"
	ClaimRegion       = "region"
	ClaimRoles        = "roles" // operator roles; absent for citizens
	// ClaimOrganisationID and ClaimOrganisationName are the operator's
	// organisation (scope roles); absent for citizens.
	ClaimOrganisationID   = "organisation_id"
	ClaimOrganisationName = "organisation_name"
	ClaimSID              = "sid"
	ClaimAuthTime         = "auth_time"
	ClaimACR              = "acr"
	ClaimAMR              = "amr"
	ClaimNonce            = "nonce"
)

// claimsSupported is published in discovery.
var claimsSupported = []string{
	"iss", "sub", "aud", "exp", "iat", ClaimAuthTime, ClaimNonce, ClaimACR, ClaimAMR, ClaimSID,
	ClaimFiscalNumber, ClaimGivenName, ClaimFamilyName, ClaimCardID, ClaimCardType, ClaimRegion, ClaimRoles,
	ClaimOrganisationID, ClaimOrganisationName,
}

// scopeClaims says which claims each scope releases. openid releases the
// subject alone; the authentication claims (acr, amr, auth_time, sid) go
// in the ID token whatever the scope.
var scopeClaims = map[string][]string{
	ScopeProfile:      {ClaimGivenName, ClaimFamilyName, ClaimCardID, ClaimCardType, ClaimRegion},
	ScopeFiscalNumber: {ClaimFiscalNumber},
	ScopeRoles:        {ClaimRoles, ClaimOrganisationID, ClaimOrganisationName},
}

// subject is the sub a client sees for a citizen: by default pairwise, an
// HMAC of the client id and the fiscal code, so that two clients cannot
// link their users; public clients all see the same HMAC of the fiscal
// code. Neither reveals the fiscal code, which only the fiscal_number
// scope releases.
func (p *Provider) subject(c *client, fiscalCode string) string {
	mac := hmac.New(sha256.New, p.salt)
	if c.subject == SubjectPublic {
		mac.Write([]byte("public\x00" + fiscalCode))
	} else {
		mac.Write([]byte("pairwise\x00" + c.id + "\x00" + fiscalCode))
	}
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// userClaims returns the claims the scopes release about the session's
// citizen, sub included. Empty values are left out.
func (p *Provider) userClaims(c *client, s *sessions.Session, scopes []string) map[string]any {
	out := map[string]any{"sub": p.subject(c, s.FiscalCode)}
	values := map[string]any{
		ClaimFiscalNumber: "TINIT-" + s.FiscalCode,
		ClaimGivenName:    s.GivenName,
		ClaimFamilyName:   s.FamilyName,
		ClaimCardID:       s.CardID,
		ClaimCardType:     s.CardType,
		ClaimRegion:       s.Region,
	}
	if len(s.Roles) > 0 {
		values[ClaimRoles] = s.Roles
		values[ClaimOrganisationID] = s.OrganisationID
		values[ClaimOrganisationName] = s.OrganisationName
	}
	for _, scope := range scopes {
		for _, name := range scopeClaims[scope] {
			if v, ok := values[name]; ok && v != "" {
				out[name] = v
			}
		}
	}
	return out
}

// authClaims are the claims about the login itself.
func authClaims(s *sessions.Session, sid string) map[string]any {
	acr, amr := s.ACR, s.AMR
	if acr == "" {
		acr = idp.ACRSmartcard
	}
	if len(amr) == 0 {
		amr = idp.AMR()
	}
	return map[string]any{ClaimACR: acr, ClaimAMR: amr, ClaimAuthTime: s.AuthTime.Unix(), ClaimSID: sid}
}
