package registry

import (
	"log/slog"
	"time"
)

// Status is the state of a registration.
type Status string

// Registration states. A fiscal code has at most one active registration.
const (
	StatusActive   Status = "active"   // the card logs in
	StatusReplaced Status = "replaced" // a newer card of the same fiscal code took over
	StatusRevoked  Status = "revoked"  // an administrator revoked it
)

// Registration binds one card certificate to a fiscal code.
type Registration struct {
	ID          int64
	FiscalCode  string
	CardID      string
	Issuer      string // issuing CA, as the caller names it
	Serial      string // certificate serial, as the caller formats it
	Fingerprint string // SHA-256 of the certificate DER, lower-case hex
	GivenName   string
	FamilyName  string
	Region      string
	CardType    string
	Status      Status
	// Times are UTC; the zero time means never.
	RegisteredAt time.Time
	LastLoginAt  time.Time
	ReplacedAt   time.Time
	RevokedAt    time.Time
	// ConsentVersion and ConsentChannel, given to Register, record the
	// citizen's consent (Consent) in the same transaction; Register leaves
	// no record when ConsentVersion is empty. Reads leave them empty.
	ConsentVersion string
	ConsentChannel string
}

var _ slog.LogValuer = Registration{}

// LogValue logs a registration without names and with the fiscal code masked.
func (r Registration) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("id", r.ID),
		slog.String("fiscal_code", maskFiscalCode(r.FiscalCode)),
		slog.String("issuer", r.Issuer),
		slog.String("serial", r.Serial),
		slog.String("status", string(r.Status)),
	)
}

// ListFilter selects registrations for a listing. Zero fields select
// everything; Limit <= 0 means no limit.
type ListFilter struct {
	Status     Status
	FiscalCode string
	// Issuer and Serial (lower-case hex, as x509cns.Identity has them)
	// find the registrations of one certificate, e.g. when a refreshed CRL
	// revokes it.
	Issuer string
	Serial string
	Limit  int
	Offset int
}
