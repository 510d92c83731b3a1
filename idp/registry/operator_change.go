package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Operator administration acts (the action of a KindOperatorChange event).
const (
	OperatorAdd    = "add"
	OperatorUpdate = "update"
	OperatorRemove = "remove"
	OperatorImport = "import"
)

// ErrExists: an operator added twice (use update).
var ErrExists = errors.New("registry: already exists")

// ErrInvalidOperator: an operator entry no store should take (a role outside
// the configured set, validity dates the wrong way round, no roles).
var ErrInvalidOperator = errors.New("registry: invalid operator")

// CheckOperator reports what is wrong with an operator entry given the
// configured roles (empty: any role): at least one role, each configured,
// an organisation code when a name is given, ValidUntil after ValidFrom.
func CheckOperator(o Operator, allowedRoles []string) error {
	var problems []string
	if len(o.Roles) == 0 {
		problems = append(problems, "no roles")
	}
	for _, r := range o.Roles {
		r = strings.TrimSpace(r)
		if len(allowedRoles) > 0 && !slices.Contains(allowedRoles, r) {
			problems = append(problems, fmt.Sprintf("role %q is not one of the configured operators.roles %v", r, allowedRoles))
		}
	}
	if strings.TrimSpace(o.Organisation) == "" && strings.TrimSpace(o.OrganisationName) != "" {
		problems = append(problems, "organisation name without an organisation code")
	}
	if !o.ValidFrom.IsZero() && !o.ValidUntil.IsZero() && !o.ValidUntil.After(o.ValidFrom) {
		problems = append(problems, "valid_until is not after valid_from")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidOperator, strings.Join(problems, "; "))
	}
	return nil
}
