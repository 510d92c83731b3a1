package config

import (
	"slices"
	"strings"
)

// Audience is who may use a relying party.
type Audience string

// The audiences.
const (
	AudienceAll       Audience = "all"       // anyone logged in (default)
	AudienceCitizens  Audience = "citizens"  // logins without operator roles
	AudienceOperators Audience = "operators" // logins with operator roles
)

var audiences = []Audience{AudienceAll, AudienceCitizens, AudienceOperators}

// validateAccess checks operators.roles and each relying party's audience
// and required_roles: a required role must be one of operators.roles when
// that set is configured, and required roles make sense for operators only.
func (c *Config) validateAccess(p *problems) {
	seen := map[string]bool{}
	for _, r := range c.Operators.Roles {
		switch {
		case strings.TrimSpace(r) == "" || strings.ContainsAny(r, " \t|,;"):
			p.add("operators", "option 'roles' has an invalid item '%s' (no spaces, '|', ',' or ';')", r)
		case seen[r]:
			p.add("operators", "option 'roles' lists '%s' twice", r)
		}
		seen[r] = true
	}
	check := func(path string, a Audience, roles []string) {
		if a != "" { // unset when validated without defaults: all
			oneOf(p, path, "audience", a, audiences)
		}
		for _, r := range roles {
			if len(c.Operators.Roles) > 0 && !slices.Contains(c.Operators.Roles, r) {
				p.add(path, "option 'required_roles' names '%s', which is not one of operators.roles", r)
			}
		}
		if len(roles) > 0 && a == AudienceCitizens {
			p.add(path, "option 'required_roles' needs audience 'operators' or 'all', not 'citizens'")
		}
	}
	for i, cl := range c.OIDC.Clients {
		check(item("oidc.clients", i), cl.Audience, cl.RequiredRoles)
	}
	for i, sp := range c.SAML.ServiceProviders {
		check(item("saml.service_providers", i), sp.Audience, sp.RequiredRoles)
	}
}
