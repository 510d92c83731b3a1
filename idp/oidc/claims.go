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

// claimsSupported is published in discovery: every claim cnsgate may put
// in an ID token or a userinfo response.
var claimsSupported = []string{
	"iss", "sub", "aud", "exp", "iat", "azp", "at_hash", ClaimAuthTime, ClaimNonce, ClaimACR, ClaimAMR, ClaimSID,
	ClaimFiscalNumber, ClaimGivenName, ClaimFamilyName, ClaimCardID, ClaimCardType, ClaimRegion, ClaimRoles,
	ClaimOrganisationID, ClaimOrganisationName, "jti", "nbf", NamespaceEID + ClaimFiscalNumber,
}

// scopeClaims says which claims each scope releases (README, "Scopes and
// claims"). openid releases the subject alone; the authentication claims
// (acr, amr, auth_time, sid) go in the ID token whatever the scope. A
// claim may also be asked for alone with the claims parameter, when the
// client may receive the scope that carries it.
var scopeClaims = map[string][]string{
	ScopeProfile:      {ClaimGivenName, ClaimFamilyName, ClaimCardID, ClaimCardType, ClaimRegion},
	ScopeFiscalNumber: {ClaimFiscalNumber},
	ScopeRoles:        {ClaimRoles, ClaimOrganisationID, ClaimOrganisationName},
}

// scopeOf returns the scope that carries a claim about the citizen, ""
// for any other claim.
func scopeOf(claim string) string {
	for scope, names := range scopeClaims {
		if contains(names, claim) {
			return scope
		}
	}
	return ""
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

// userClaims returns the claims about the session's citizen that the
// scopes release, and those of asked (the claims parameter) that the client
// may receive; sub always. Empty values are left out.
func (p *Provider) userClaims(c *client, s *sessions.Session, scopes, asked []string) map[string]any {
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
	release := func(name string) {
		if v, ok := values[name]; ok && v != "" {
			out[name] = v
		}
	}
	for _, scope := range scopes {
		for _, name := range c.scopeClaims(scope) {
			release(name)
		}
	}
	for _, name := range asked {
		if scope := scopeOf(name); scope != "" && c.mayReceive(scope) {
			release(name)
		}
	}
	if c.italian() {
		namespaced(out)
	}
	return out
}

// italianProfileClaims are what the profile scope releases to a spid or
// cie client: the eIDAS minimum dataset cnsgate has (the rules' profile
// scope; cnsgate has no birthdate).
var italianProfileClaims = []string{ClaimGivenName, ClaimFamilyName, ClaimFiscalNumber}

// scopeClaims are the claims a scope releases to the client.
func (c *client) scopeClaims(scope string) []string {
	if scope == ScopeProfile && c.italian() {
		return italianProfileClaims
	}
	return scopeClaims[scope]
}

// namespacedClaims are the claims the Italian profiles name under
// NamespaceEID.
var namespacedClaims = []string{ClaimFiscalNumber}

// namespaced renames the claims of a spid or cie client that the rules
// put under NamespaceEID.
func namespaced(claims map[string]any) {
	for _, name := range namespacedClaims {
		if v, ok := claims[name]; ok {
			delete(claims, name)
			claims[NamespaceEID+name] = v
		}
	}
}

// authClaims are the claims about the login itself; acr is the level the
// grant met (acr_values), else the session's.
func authClaims(s *sessions.Session, g *grant) map[string]any {
	acr, amr, sid := g.ACR, s.AMR, g.SID
	if acr == "" {
		acr = s.ACR
	}
	if acr == "" {
		acr = idp.ACRSmartcard
	}
	if len(amr) == 0 {
		amr = idp.AMR()
	}
	return map[string]any{ClaimACR: acr, ClaimAMR: amr, ClaimAuthTime: s.AuthTime.Unix(), ClaimSID: sid}
}
