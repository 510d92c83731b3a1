package config

import (
	"slices"
	"strings"
	"testing"
)

// TestValidateAccess: operators.roles, and each relying party's audience
// and required_roles, every problem with its path.
func TestValidateAccess(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"ok/operators-with-roles", func(c *Config) {
			c.Operators.Roles = []string{"operatore_asl", "cms_admin"}
			c.SAML.ServiceProviders[0].Audience, c.SAML.ServiceProviders[0].RequiredRoles = AudienceOperators, []string{"operatore_asl"}
			c.OIDC.Clients[0].Audience = AudienceCitizens
		}, nil},
		{"ok/any-role-without-operators-roles", func(c *Config) {
			c.OIDC.Clients[0].Audience, c.OIDC.Clients[0].RequiredRoles = AudienceAll, []string{"whatever"}
		}, nil},
		{"fail/everything", func(c *Config) {
			c.Operators.Roles = []string{"operatore_asl", "operatore_asl", "due parole", ""}
			c.OIDC.Clients[0].Audience = "pharmacists"
			c.OIDC.Clients[1].Audience, c.OIDC.Clients[1].RequiredRoles = AudienceCitizens, []string{"operatore_asl"}
			c.SAML.ServiceProviders[0].RequiredRoles = []string{"direttore"}
		}, []string{
			"operators: option 'roles' lists 'operatore_asl' twice",
			"operators: option 'roles' has an invalid item 'due parole' (no spaces, '|', ',' or ';')",
			"operators: option 'roles' has an invalid item '' (no spaces, '|', ',' or ';')",
			"oidc: clients[0]: option 'audience' must be one of 'all', 'citizens', 'operators' but it's configured as 'pharmacists'",
			"oidc: clients[1]: option 'required_roles' needs audience 'operators' or 'all', not 'citizens'",
			"saml: service_providers[0]: option 'required_roles' names 'direttore', which is not one of operators.roles",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid(t)
			tt.mutate(c)
			if got := problemsOf(t, c.Validate()); !slices.Equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}
