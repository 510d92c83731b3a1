package registry

import (
	"encoding/json"
	"log/slog"
	"time"
)

// EventKind names what an audit event records. The set grows with the
// product; the database does not constrain it.
type EventKind string

// Audit event kinds.
const (
	KindLogin              EventKind = "login"
	KindRegistration       EventKind = "registration"
	KindLogout             EventKind = "logout"
	KindSessionEnd         EventKind = "session_end"
	KindTokenIssued        EventKind = "token_issued"
	KindTokenRevoked       EventKind = "token_revoked"
	KindLogoutNotification EventKind = "logout_notification"
	KindCRLRefreshFailure  EventKind = "crl_refresh_failure"
	KindConfigReload       EventKind = "config_reload"
	// KindAdminRequest is a call to the admin API, refused or not.
	KindAdminRequest EventKind = "admin_request"
	// KindHandoff is a one-time handoff code that could not be redeemed
	// at /cns/complete: unknown, expired or already used (a replay).
	KindHandoff EventKind = "handoff"
	// KindOperatorChange is an operator added, updated, removed or
	// imported; its reason is the act (OperatorAdd...) and its detail
	// names who made it (the admin API token or the CLI's user).
	KindOperatorChange EventKind = "operator_change"
	// KindAccessDenied is an assertion refused to someone the relying
	// party's audience or required roles exclude.
	KindAccessDenied EventKind = "access_denied"
	// KindRelease is the citizen's choice on the data-release page: agreed
	// (success) or refused (failure, reason cancelled), with the fields.
	KindRelease EventKind = "release"
	// KindRateLimited is the first login start of a client IP refused by
	// the per-IP limit (limits.pending_per_ip_*); the refusals that follow
	// until a start is allowed again are only counted.
	KindRateLimited EventKind = "rate_limited"
	// KindConsentWithdrawn is the citizen's consent withdrawn ("Revoca il
	// consenso" on "La mia tessera", or an administrator revoking every
	// card of the citizen); its detail names the channel.
	KindConsentWithdrawn EventKind = "consent_withdrawn"
	// KindCardRemoved is a card the citizen removed from "La mia tessera"
	// ("Rimuovi questa tessera"); its card serial and issuer name it.
	KindCardRemoved EventKind = "card_removed"
)

// Outcome is the result of an audited action.
type Outcome string

// Outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
)

// Event is one row of the audit trail. Empty strings mean "not applicable".
type Event struct {
	ID          int64
	At          time.Time // UTC; the store sets it from its clock when zero
	Kind        EventKind
	Outcome     Outcome
	Reason      string // a fixed reason (x509cns rejection reason, session end cause...)
	FiscalCode  string // in full: investigators search by it
	Client      string // OIDC client id or SAML SP entity id
	SessionHash string // sessions.HashKey of the session id, never the id
	CardSerial  string
	Issuer      string
	RemoteIP    string
	RequestID   string
	Detail      json.RawMessage // optional JSON value
	// CardFingerprint, when set, is the SHA-256 of the card of a login:
	// the store sets that card's last login time to At in the same write
	// as the event. It is not a column of the audit trail.
	CardFingerprint string
}

var _ slog.LogValuer = Event{}

// LogValue logs an event with the fiscal code masked.
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Time("at", e.At),
		slog.String("kind", string(e.Kind)),
		slog.String("outcome", string(e.Outcome)),
	}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("reason", e.Reason)
	if e.FiscalCode != "" {
		add("fiscal_code", maskFiscalCode(e.FiscalCode))
	}
	add("client", e.Client)
	add("session_hash", e.SessionHash)
	add("card_serial", e.CardSerial)
	add("issuer", e.Issuer)
	add("remote_ip", e.RemoteIP)
	add("request_id", e.RequestID)
	if len(e.Detail) > 0 {
		attrs = append(attrs, slog.String("detail", string(e.Detail)))
	}
	return slog.GroupValue(attrs...)
}

// AuditQuery selects audit events. Zero fields select everything; Since is
// inclusive, Until exclusive; Limit <= 0 means no limit.
type AuditQuery struct {
	Since, Until time.Time
	FiscalCode   string
	Outcome      Outcome
	Kind         EventKind
	Kinds        []EventKind // any of these kinds (with Kind, both must hold)
	Client       string
	// CardSerial, Issuer, Reason and RemoteIP select by equality, like
	// FiscalCode and Client (the admin API's audit filters).
	CardSerial string
	Issuer     string
	Reason     string
	RemoteIP   string
	// MaxID, when > 0, keeps only events with id <= MaxID: the pages of one
	// search stay the same while new events are written.
	MaxID  int64
	Limit  int
	Offset int // events skipped, newest first, before the first returned
	// SkipFailureReason leaves out the failures with this reason (the
	// visit of a card before its registration, in the citizen's history).
	SkipFailureReason string
}

// AuditDimension is what AggregateAudit counts events by, beside the day.
type AuditDimension string

// Audit aggregate dimensions.
const (
	ByOutcome AuditDimension = "outcome"
	ByReason  AuditDimension = "reason"
	ByIssuer  AuditDimension = "issuer"
	ByClient  AuditDimension = "client" // the relying party
)

// AuditDimensions lists the dimensions in the order they are documented.
var AuditDimensions = []AuditDimension{ByOutcome, ByReason, ByIssuer, ByClient}

// AuditBucket is the number of events of one day (UTC, YYYY-MM-DD) with one
// value of the dimension aggregated by.
type AuditBucket struct {
	Day   string
	Value string
	Count int
}
