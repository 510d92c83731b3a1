package registry

import (
	"log/slog"
	"time"
)

// Operator is a citizen who logs in with operator roles (an ASL or pharmacy
// operator using the card management application).
type Operator struct {
	FiscalCode string
	Roles      []string // in the order given, without duplicates
	// Organisation is the code of the operator's organisation (the ASL's
	// code, e.g. "120201"); OrganisationName its name ("ASL Roma 1").
	// Both reach the relying parties (OIDC organisation_id and
	// organisation_name, SAML organizationCode and organizationName).
	Organisation     string
	OrganisationName string
	// ValidFrom and ValidUntil bound the days the roles are granted; the
	// zero time is no bound. ValidUntil is exclusive.
	ValidFrom  time.Time
	ValidUntil time.Time
	// AnyCard grants the roles whatever card the operator logs in with.
	// By default (false) only a login with an operator card (card type 8
	// or 9) carries them: with a personal TS-CNS the operator is a citizen.
	AnyCard   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

var _ slog.LogValuer = Operator{}

// LogValue logs an operator with the fiscal code masked.
func (o Operator) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("fiscal_code", maskFiscalCode(o.FiscalCode)),
		slog.Any("roles", o.Roles),
		slog.String("organisation", o.Organisation),
		slog.String("organisation_name", o.OrganisationName),
		slog.Bool("any_card", o.AnyCard),
	)
}

// ValidAt reports whether the operator's roles are granted at t.
func (o Operator) ValidAt(t time.Time) bool {
	if !o.ValidFrom.IsZero() && t.Before(o.ValidFrom) {
		return false
	}
	return o.ValidUntil.IsZero() || t.Before(o.ValidUntil)
}
