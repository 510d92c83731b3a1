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
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

var _ slog.LogValuer = Operator{}

// LogValue logs an operator with the fiscal code masked.
func (o Operator) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("fiscal_code", maskFiscalCode(o.FiscalCode)),
		slog.Any("roles", o.Roles),
		slog.String("organisation", o.Organisation),
	)
}
