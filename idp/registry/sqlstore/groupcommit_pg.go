package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// pgBatch is one statement, so one round trip and one transaction whatever
// the batch holds: the events as arrays unnested into audit_events, the
// last-login updates as arrays joined to registrations, returning the
// fingerprints it updated. pgx prepares it once per connection. It runs in
// the transaction that holds the audit chain's head (auditchain.go).
const pgBatch = `WITH ins AS (
	INSERT INTO audit_events (at, kind, outcome, reason, fiscal_code, client, session_hash, card_serial, issuer, remote_ip, request_id, detail, seq, prev_hash, hash)
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
		$15::bigint[], $16::text[], $17::text[])
), upd AS (
	UPDATE registrations r SET last_login_at = l.at
	FROM unnest($13::text[], $14::timestamptz[]) AS l(fp, at)
	WHERE r.fingerprint = l.fp AND r.status = 'active'
	RETURNING r.fingerprint
)
SELECT fingerprint FROM upd`

// commitPostgres writes the batch with pgBatch, in a transaction that
// links its events into the audit chain.
func (d *DB) commitPostgres(ctx context.Context, batch []*writeOp) ([]error, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	links, err := d.chainEvents(ctx, tx, batchEvents(batch))
	if err != nil {
		return nil, err
	}
	results, err := pgBatchRun(ctx, tx, batch, links)
	if err != nil {
		return nil, err
	}
	return results, tx.Commit()
}

// pgBatchRun runs pgBatch in tx and tells which last-login updates found
// no active registration.
func pgBatchRun(ctx context.Context, tx *sql.Tx, batch []*writeOp, links []link) ([]error, error) {
	seqs, prevs, hashes := make([]int64, len(links)), make([]string, len(links)), make([]string, len(links))
	for i, l := range links {
		seqs[i], prevs[i], hashes[i] = l.seq, l.prev, l.hash
	}
	rows, err := tx.QueryContext(ctx, pgBatch, append(pgBatchArgs(batch), seqs, prevs, hashes)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	updated := map[string]bool{}
	for rows.Next() {
		var fp string
		if err := rows.Scan(&fp); err != nil {
			return nil, err
		}
		updated[fp] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	results := make([]error, len(batch))
	for i, op := range batch {
		if op.event == nil && !updated[op.fingerprint] {
			results[i] = registry.ErrNotRegistered
		}
	}
	return results, nil
}

// pgBatchArgs are pgBatch's first 14 arrays: the events' columns, then the
// cards' fingerprints and last login times (a card twice in a batch: its
// latest login).
func pgBatchArgs(batch []*writeOp) []any {
	ats := []time.Time{}
	cols := make([][]string, 11)
	for i := range cols {
		cols[i] = []string{}
	}
	logins := map[string]time.Time{}
	for _, op := range batch {
		if e := op.event; e != nil {
			ats = append(ats, e.At.UTC().Truncate(time.Microsecond))
			for i, v := range []string{string(e.Kind), string(e.Outcome), e.Reason, x509cns.NormalizeFiscalCode(e.FiscalCode),
				e.Client, e.SessionHash, e.CardSerial, e.Issuer, e.RemoteIP, e.RequestID, string(e.Detail)} {
				cols[i] = append(cols[i], v)
			}
		}
		if at, seen := logins[op.fingerprint]; op.fingerprint != "" && (!seen || op.at.After(at)) {
			logins[op.fingerprint] = op.at
		}
	}
	fps, fpAts := make([]string, 0, len(logins)), make([]time.Time, 0, len(logins))
	for fp, at := range logins {
		fps, fpAts = append(fps, fp), append(fpAts, at.UTC().Truncate(time.Microsecond))
	}
	args := []any{ats}
	for _, c := range cols {
		args = append(args, c)
	}
	return append(args, fps, fpAts)
}
