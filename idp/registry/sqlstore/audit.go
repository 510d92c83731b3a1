package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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
	if err := checkAuditQuery(q); err != nil {
		return nil, err
	}
	where, args := d.auditWhere(q)
	query := "SELECT " + auditColumns + " FROM audit_events" + whereClause(where)
	query += " ORDER BY at DESC, id DESC" + d.limitOffset(q.Limit, q.Offset)
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
	for _, f := range [...]struct{ col, v string }{{"card_serial", q.CardSerial}, {"issuer", q.Issuer}, {"reason", q.Reason}, {"remote_ip", q.RemoteIP}} {
		if f.v != "" {
			add(f.col+" = ?", f.v)
		}
	}
	if q.MaxID > 0 {
		add("id <= ?", q.MaxID)
	}
	if q.SkipFailureReason != "" {
		add("NOT (outcome = 'failure' AND reason = ?)", q.SkipFailureReason)
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
// returns how many it deleted. It deletes a prefix of the chain (the events
// up to the last one older than before, in chain order) and records the
// last deleted event's position and hash as an anchor (a checkpoint of kind
// purge, signed when a checkpoint key is set) in the same transaction, so
// that VerifyAudit starts the chain again from there.
func (d *DB) PurgeAudit(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = d.purgeIn(ctx, tx, before)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("registry: purge audit: %w", err)
	}
	return n, nil
}

func (d *DB) purgeIn(ctx context.Context, tx *sql.Tx, before time.Time) (int64, error) {
	if _, _, err := d.chainHead(ctx, tx); err != nil { // lock the chain: no event is linked meanwhile
		return 0, err
	}
	last, hash, err := d.purgeEnd(ctx, tx, before)
	if err != nil {
		return 0, err
	}
	var deleted int64
	if last > 0 {
		res, err := tx.ExecContext(ctx, d.q("DELETE FROM audit_events WHERE seq > 0 AND seq <= ?"), last)
		if err != nil {
			return 0, err
		}
		if deleted, err = res.RowsAffected(); err != nil {
			return 0, err
		}
		if err := d.insertCheckpoint(ctx, tx, checkpointPurge, last, hash); err != nil {
			return 0, err
		}
	}
	// Events from before the chain have no position: they go by time.
	// (An event of the chain older than before but after a newer one waits
	// for the next purge.)
	res, err := tx.ExecContext(ctx, d.q("DELETE FROM audit_events WHERE seq = 0 AND at < ?"), d.ts(before))
	if err != nil {
		return 0, err
	}
	legacy, err := res.RowsAffected()
	return deleted + legacy, err
}

// purgeEnd is the last position retention deletes: the end of the longest
// prefix of the chain older than before (0: none), and its hash.
func (d *DB) purgeEnd(ctx context.Context, tx *sql.Tx, before time.Time) (int64, string, error) {
	var keep sql.NullInt64
	if err := tx.QueryRowContext(ctx, d.q("SELECT MIN(seq) FROM audit_events WHERE seq > 0 AND at >= ?"), d.ts(before)).Scan(&keep); err != nil {
		return 0, "", err
	}
	q, args := "SELECT seq, hash FROM audit_events WHERE seq > 0 ORDER BY seq DESC LIMIT 1", []any{}
	if keep.Valid {
		q, args = "SELECT seq, hash FROM audit_events WHERE seq > 0 AND seq < ? ORDER BY seq DESC LIMIT 1", []any{keep.Int64}
	}
	var last int64
	var hash string
	err := tx.QueryRowContext(ctx, d.q(q), args...).Scan(&last, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	return last, hash, err
}
