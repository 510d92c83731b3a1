package registry

import (
	"log/slog"
	"time"
)

// Eligible is a citizen on the allowlist: in registration mode "allowlist"
// only these fiscal codes may register a card.
type Eligible struct {
	FiscalCode string
	GivenName  string
	FamilyName string
	Note       string
	ImportedAt time.Time // set by the store on import
}

var _ slog.LogValuer = Eligible{}

// LogValue logs an allowlist entry without names and with the fiscal code
// masked.
func (e Eligible) LogValue() slog.Value {
	return slog.GroupValue(slog.String("fiscal_code", maskFiscalCode(e.FiscalCode)))
}

// ImportResult counts what an allowlist import did.
type ImportResult struct {
	Inserted  int // new fiscal codes
	Updated   int // known fiscal codes whose names or note changed
	Unchanged int // known fiscal codes imported again as they were
	Removed   int // fiscal codes absent from a replace-all import
}
