package oidc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"

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
// scope releases. The keyed HMACs are reused from p.macs: a new one per
// call allocates two SHA-256 states and pads the key again.
func (p *Provider) subject(c *client, fiscalCode string) string {
	mac, ok := p.macs.Get().(hash.Hash)
	if !ok {
		mac = hmac.New(sha256.New, p.salt)
	}
	var in [128]byte
	msg := in[:0]
	if c.subject == SubjectPublic {
		msg = append(append(msg, "public\x00"...), fiscalCode...)
	} else {
		msg = append(append(append(append(msg, "pairwise\x00"...), c.id...), 0), fiscalCode...)
	}
	mac.Reset()
	mac.Write(msg)
	var sum [sha256.Size]byte
	sub := base64.RawURLEncoding.EncodeToString(mac.Sum(sum[:0]))
	p.macs.Put(mac)
	return sub
}

// userClaims returns the claims about the session's citizen that the
// scopes release, and those of asked (the claims parameter) that the client
// may receive; sub (the caller's p.subject of the citizen) always. Empty
// values are left out.
func (p *Provider) userClaims(c *client, s *sessions.Session, sub string, scopes, asked []string) map[string]any {
	out := make(map[string]any, 16)
	out["sub"] = sub
	release := func(name string) {
		if v := sessionClaim(s, name); v != nil && v != "" {
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

// sessionClaim is the value of a claim about the session's citizen, nil
// for a claim the session has no value of (the operator's claims of a
// citizen without roles) or that is not about the citizen.
func sessionClaim(s *sessions.Session, name string) any {
	switch name {
	case ClaimFiscalNumber:
		return "TINIT-" + s.FiscalCode
	case ClaimGivenName:
		return s.GivenName
	case ClaimFamilyName:
		return s.FamilyName
	case ClaimCardID:
		return s.CardID
	case ClaimCardType:
		return s.CardType
	case ClaimRegion:
		return s.Region
	}
	if len(s.Roles) == 0 {
		return nil
	}
	switch name {
	case ClaimRoles:
		return s.Roles
	case ClaimOrganisationID:
		return s.OrganisationID
	case ClaimOrganisationName:
		return s.OrganisationName
	}
	return nil
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

// authClaims are the claims about the login itself (putAuthClaims).
func authClaims(s *sessions.Session, g *grant) map[string]any {
	out := make(map[string]any, 16)
	putAuthClaims(out, s, g)
	return out
}

// putAuthClaims sets in out the claims about the login itself; acr is the
// level the grant met (acr_values), else the session's.
func putAuthClaims(out map[string]any, s *sessions.Session, g *grant) {
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
	out[ClaimACR], out[ClaimAMR], out[ClaimAuthTime], out[ClaimSID] = acr, amr, s.AuthTime.Unix(), sid
}
