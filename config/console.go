package config

import (
	"net"
	"slices"
)

// Console is the security team's console (section console): a web console
// on its own origin and listener (listen.console), where an operator with
// Role logs in through cnsgate's own card login. Off unless listen.console
// is set.
type Console struct {
	// Origin is the console's browser origin, e.g.
	// https://console.login.example.it: https unless the host is a loopback
	// name, different from issuer and cns_origin (its cookies are its own).
	Origin string `yaml:"origin"`
	// Role is the operator role the console requires; default "security".
	Role string `yaml:"role"`
}

// DefaultConsoleRole is console.role's default.
const DefaultConsoleRole = "security"

// ConsoleOn reports whether the console is configured.
func (c *Config) ConsoleOn() bool { return c.Listen.Console != "" }

func (c *Config) validateConsole(p *problems) {
	if !c.ConsoleOn() {
		if c.Console.Origin != "" {
			p.add("console", "option 'origin' needs listen.console (the console's own listener)")
		}
		return
	}
	if _, _, err := net.SplitHostPort(c.Listen.Console); err != nil {
		p.add("listen", "option 'console' must be host:port but it's configured as '%s'", c.Listen.Console)
	}
	for _, other := range []struct{ key, addr string }{{"public", c.Listen.Public}, {"cns", c.Listen.CNS}, {"admin", c.Listen.Admin}} {
		if other.addr == c.Listen.Console {
			p.add("listen", "options '%s' and 'console' must be different addresses but both are '%s'", other.key, other.addr)
		}
	}
	if !required(p, "console", "origin", c.Console.Origin) {
		return
	}
	u := absURL(p, "console", "origin", c.Console.Origin, urlRule{schemes: httpURL.schemes, originOnly: true, noSlash: true})
	switch {
	case u == nil:
	case u.Scheme != "https":
		p.add("console", "option 'origin' must be an https URL (its session cookie is __Host-) but it's configured as '%s'", c.Console.Origin)
	case c.Console.Origin == c.Issuer || c.Console.Origin == c.CNSOrigin:
		p.add("console", "option 'origin' must differ from 'issuer' and 'cns_origin': the console needs an origin of its own")
	}
	if len(c.OIDC.SigningKeys) == 0 || c.OIDC.SubjectSalt.Value() == "" {
		p.add("console", "the console logs in through cnsgate's OpenID Connect provider: oidc.signing_keys and oidc.subject_salt are required")
	}
	if len(c.Operators.Roles) > 0 && !slices.Contains(c.Operators.Roles, c.Console.Role) {
		p.add("console", "option 'role' names '%s', which is not one of operators.roles", c.Console.Role)
	}
}
