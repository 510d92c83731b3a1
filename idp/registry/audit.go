package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
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
	At          time.Time // UTC; AppendAudit sets it from the clock when zero
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
		add("fiscal_code", x509cns.MaskFiscalCode(e.FiscalCode))
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
	Limit        int
}

const auditColumns = "id, at, kind, outcome, reason, fiscal_code, client, session_hash, card_serial, issuer, remote_ip, request_id, detail"

// AppendAudit writes one event.
func (d *DB) AppendAudit(ctx context.Context, e Event) error {
	if e.Kind == "" {
		return errors.New("registry: audit event without kind")
	}
	if e.Outcome != OutcomeSuccess && e.Outcome != OutcomeFailure {
		return fmt.Errorf("registry: audit event outcome %q (want %q or %q)", e.Outcome, OutcomeSuccess, OutcomeFailure)
	}
	if len(e.Detail) > 0 && !json.Valid(e.Detail) {
		return errors.New("registry: audit event detail is not valid JSON")
	}
	if e.At.IsZero() {
		e.At = d.now()
	}
	_, err := d.db.ExecContext(ctx, d.q("INSERT INTO audit_events ("+strings.TrimPrefix(auditColumns, "id, ")+
		") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		d.ts(e.At), string(e.Kind), string(e.Outcome), e.Reason, x509cns.NormalizeFiscalCode(e.FiscalCode),
		e.Client, e.SessionHash, e.CardSerial, e.Issuer, e.RemoteIP, e.RequestID, string(e.Detail))
	if err != nil {
		return fmt.Errorf("registry: append audit: %w", err)
	}
	return nil
}

// QueryAudit returns the matching events, newest first.
func (d *DB) QueryAudit(ctx context.Context, q AuditQuery) ([]Event, error) {
	if q.Outcome != "" && q.Outcome != OutcomeSuccess && q.Outcome != OutcomeFailure {
		return nil, fmt.Errorf("registry: query audit: unknown outcome %q (want %s or %s)", q.Outcome, OutcomeSuccess, OutcomeFailure)
	}
	var where []string
	var args []any
	if !q.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, d.ts(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, d.ts(q.Until))
	}
	if q.FiscalCode != "" {
		where, args = append(where, "fiscal_code = ?"), append(args, x509cns.NormalizeFiscalCode(q.FiscalCode))
	}
	if q.Outcome != "" {
		where, args = append(where, "outcome = ?"), append(args, string(q.Outcome))
	}
	if q.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(q.Kind))
	}
	if len(q.Kinds) > 0 {
		marks := make([]string, len(q.Kinds))
		for i, k := range q.Kinds {
			marks[i], args = "?", append(args, string(k))
		}
		where = append(where, "kind IN ("+strings.Join(marks, ", ")+")")
	}
	if q.Client != "" {
		where, args = append(where, "client = ?"), append(args, q.Client)
	}
	query := "SELECT " + auditColumns + " FROM audit_events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY at DESC, id DESC" + d.limitOffset(q.Limit, 0)
	rows, err := d.db.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("registry: query audit: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var detail string
		if err := rows.Scan(&e.ID, dbTime{&e.At}, &e.Kind, &e.Outcome, &e.Reason, &e.FiscalCode, &e.Client,
			&e.SessionHash, &e.CardSerial, &e.Issuer, &e.RemoteIP, &e.RequestID, &detail); err != nil {
			return nil, fmt.Errorf("registry: query audit: %w", err)
		}
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: query audit: %w", err)
	}
	return out, nil
}

// RecentAccesses returns a citizen's card logins (successes and refusals)
// and the services that received an identity (tokens, assertions), newest
// first, for the welcome page.
func (d *DB) RecentAccesses(ctx context.Context, fiscalCode string, limit int) ([]Event, error) {
	if fiscalCode == "" {
		return nil, nil
	}
	return d.QueryAudit(ctx, AuditQuery{FiscalCode: fiscalCode, Kinds: []EventKind{KindLogin, KindTokenIssued}, Limit: limit})
}

// PurgeAudit deletes the events older than before, for retention, and
// returns how many it deleted.
func (d *DB) PurgeAudit(ctx context.Context, before time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, d.q("DELETE FROM audit_events WHERE at < ?"), d.ts(before))
	if err != nil {
		return 0, fmt.Errorf("registry: purge audit: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("registry: purge audit: %w", err)
	}
	return n, nil
}
