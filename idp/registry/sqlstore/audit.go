package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

const auditColumns = "id, at, kind, outcome, reason, fiscal_code, client, session_hash, card_serial, issuer, remote_ip, request_id, detail"

// AppendAudit writes one event, and returns once it is committed: it rides
// in the group commit's next batch with the writes of concurrent requests
// (groupcommit.go). A queue full of waiting writes makes it wait for room
// while ctx allows; once queued, the event is written whatever ctx does.
func (d *DB) AppendAudit(ctx context.Context, e registry.Event) error {
	if e.Kind == "" {
		return fmt.Errorf("%w: no kind", registry.ErrInvalidEvent)
	}
	if e.Outcome != registry.OutcomeSuccess && e.Outcome != registry.OutcomeFailure {
		return fmt.Errorf("%w: outcome %q (want %q or %q)", registry.ErrInvalidEvent, e.Outcome, registry.OutcomeSuccess, registry.OutcomeFailure)
	}
	if len(e.Detail) > 0 && !json.Valid(e.Detail) {
		return fmt.Errorf("%w: detail is not valid JSON", registry.ErrInvalidEvent)
	}
	if e.At.IsZero() {
		e.At = d.now()
	}
	op := &writeOp{event: &e}
	if e.CardFingerprint != "" {
		fp, err := normalizeFingerprint(e.CardFingerprint)
		if err != nil {
			return fmt.Errorf("%w: card fingerprint: %v", registry.ErrInvalidEvent, err)
		}
		op.fingerprint, op.at = fp, e.At
	}
	if err := d.w.submit(ctx, op); err != nil {
		return fmt.Errorf("registry: append audit: %w", err)
	}
	return nil
}

// QueryAudit returns the matching events, newest first.
func (d *DB) QueryAudit(ctx context.Context, q registry.AuditQuery) ([]registry.Event, error) {
	if q.Outcome != "" && q.Outcome != registry.OutcomeSuccess && q.Outcome != registry.OutcomeFailure {
		return nil, fmt.Errorf("registry: query audit: unknown outcome %q (want %s or %s)", q.Outcome, registry.OutcomeSuccess, registry.OutcomeFailure)
	}
	where, args := d.auditWhere(q)
	query := "SELECT " + auditColumns + " FROM audit_events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY at DESC, id DESC" + d.limitOffset(q.Limit, 0)
	rows, err := d.rdb.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("registry: query audit: %w", err)
	}
	defer rows.Close()
	out, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("registry: query audit: %w", err)
	}
	return out, nil
}

// auditWhere is the WHERE clause of a query: one condition per field set.
func (d *DB) auditWhere(q registry.AuditQuery) (where []string, args []any) {
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if !q.Since.IsZero() {
		add("at >= ?", d.ts(q.Since))
	}
	if !q.Until.IsZero() {
		add("at < ?", d.ts(q.Until))
	}
	if q.FiscalCode != "" {
		add("fiscal_code = ?", x509cns.NormalizeFiscalCode(q.FiscalCode))
	}
	if q.Outcome != "" {
		add("outcome = ?", string(q.Outcome))
	}
	if q.Kind != "" {
		add("kind = ?", string(q.Kind))
	}
	if len(q.Kinds) > 0 {
		marks := make([]string, len(q.Kinds))
		for i, k := range q.Kinds {
			marks[i], args = "?", append(args, string(k))
		}
		where = append(where, "kind IN ("+strings.Join(marks, ", ")+")")
	}
	if q.Client != "" {
		add("client = ?", q.Client)
	}
	return where, args
}

// scanEvents reads the rows of a SELECT of auditColumns.
func scanEvents(rows *sql.Rows) ([]registry.Event, error) {
	var out []registry.Event
	for rows.Next() {
		var e registry.Event
		var detail string
		if err := rows.Scan(&e.ID, dbTime{&e.At}, &e.Kind, &e.Outcome, &e.Reason, &e.FiscalCode, &e.Client,
			&e.SessionHash, &e.CardSerial, &e.Issuer, &e.RemoteIP, &e.RequestID, &detail); err != nil {
			return nil, err
		}
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RecentAccesses returns a citizen's card logins (successes and refusals)
// and the services that received an identity (tokens, assertions), newest
// first, for the welcome page.
func (d *DB) RecentAccesses(ctx context.Context, fiscalCode string, limit int) ([]registry.Event, error) {
	if fiscalCode == "" {
		return nil, nil
	}
	return d.QueryAudit(ctx, registry.AuditQuery{FiscalCode: fiscalCode, Kinds: []registry.EventKind{registry.KindLogin, registry.KindTokenIssued}, Limit: limit})
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
