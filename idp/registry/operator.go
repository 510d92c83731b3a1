package registry

import (
	"log/slog"
	"time"
)

// Operator is a citizen who logs in with operator roles (an ASL or pharmacy
// operator using the card management application).
type Operator struct {
	FiscalCode   string
	Roles        []string // in the order given, without duplicates
	Organisation string
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
		slog.Bool("any_card", o.AnyCard),
	)
}
