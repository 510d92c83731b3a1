package registry

import (
	"log/slog"
	"time"
)

// Consent channels: where a consent was given or withdrawn.
const (
	ChannelWeb      = "web"       // the registration page, "La mia tessera"
	ChannelCLI      = "cli"       // cnsgate registrations ...
	ChannelAdminAPI = "admin-api" // the admin API
)

// Consent is one consent of a citizen to the processing the registration
// page describes: the version of the text agreed to, when and through which
// channel, and, once withdrawn, when and through which channel. A
// withdrawal keeps the record; a later registration adds a new one.
type Consent struct {
	ID         int64
	FiscalCode string
	Version    string
	Channel    string
	GivenAt    time.Time // UTC
	// WithdrawnAt is the zero time while the consent holds.
	WithdrawnAt      time.Time
	WithdrawnChannel string
}

// Withdrawn reports whether the consent was withdrawn.
func (c Consent) Withdrawn() bool { return !c.WithdrawnAt.IsZero() }

var _ slog.LogValuer = Consent{}

// LogValue logs a consent with the fiscal code masked.
func (c Consent) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("id", c.ID),
		slog.String("fiscal_code", maskFiscalCode(c.FiscalCode)),
		slog.String("version", c.Version),
		slog.String("channel", c.Channel),
		slog.Bool("withdrawn", c.Withdrawn()),
	)
}
