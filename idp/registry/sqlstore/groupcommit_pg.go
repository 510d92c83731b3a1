package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// pgBatch is one statement, so one round trip and one transaction whatever
// the batch holds: the audit chain's head moved past the batch's events,
// provided it is still where this writer saw it last ($18, $19); the events
// as arrays unnested into audit_events and the last-login updates as arrays
// joined to registrations, both only if the head moved; returning whether
// it did and the fingerprints it updated. A head another writer moved
// (another replica, an operator change, retention) makes the statement
// change nothing: the writer reads the head again and retries. pgx
// prepares it once per connection.
const pgBatch = `WITH head AS (
	UPDATE audit_chain SET seq = $20, hash = $21 WHERE id = 1 AND seq = $18 AND hash = $19 RETURNING 1
), ins AS (
	INSERT INTO audit_events (at, kind, outcome, reason, fiscal_code, client, session_hash, card_serial, issuer, remote_ip, request_id, detail, seq, prev_hash, hash)
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
		$15::bigint[], $16::text[], $17::text[])
	WHERE EXISTS (SELECT 1 FROM head)
), upd AS (
	UPDATE registrations r SET last_login_at = l.at
	FROM unnest($13::text[], $14::timestamptz[]) AS l(fp, at)
	WHERE r.fingerprint = l.fp AND r.status = 'active' AND EXISTS (SELECT 1 FROM head)
	RETURNING r.fingerprint
)
SELECT true, '' FROM head UNION ALL SELECT false, fingerprint FROM upd`

// chainTip is where the writer last saw the audit chain's head.
type chainTip struct {
	seq   int64
	hash  string
	known bool
}

// commitPostgres writes the batch with pgBatch, linking its events after
// the head the writer last saw: one round trip. When another writer moved
// the head meanwhile, the batch is written again in a transaction that
// locks the head first, so that a busy chain shared by replicas never
// makes a writer lose in turn for ever.
func (d *DB) commitPostgres(ctx context.Context, batch []*writeOp) ([]error, error) {
	events := batchEvents(batch)
	if d.tip.known {
		results, moved, err := d.pgBatchFrom(ctx, d.db, batch, events)
		if err != nil || moved {
			return results, err
		}
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	if d.tip.seq, d.tip.hash, err = d.chainHead(ctx, tx); err != nil {
		return nil, err
	}
	d.tip.known = true
	results, moved, err := d.pgBatchFrom(ctx, tx, batch, events)
	if err == nil && !moved {
		err = errors.New("audit chain head moved while locked")
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		d.tip.known = false
		return nil, err
	}
	return results, nil
}

// querier is a pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// pgBatchFrom runs pgBatch from the head the writer last saw and, when it
// moved the head, remembers where; else the head is to be read again.
func (d *DB) pgBatchFrom(ctx context.Context, q querier, batch []*writeOp, events []*registry.Event) ([]error, bool, error) {
	links := linkAfter(d.tip.seq, d.tip.hash, events)
	next := d.tip
	if len(links) > 0 {
		next.seq, next.hash = links[len(links)-1].seq, links[len(links)-1].hash
	}
	results, moved, err := pgBatchRun(ctx, q, batch, links, d.tip, next)
	switch {
	case err != nil || !moved:
		d.tip.known = false
	default:
		d.tip = next
	}
	return results, moved, err
}

// pgBatchRun runs pgBatch and tells whether the head moved and which
// last-login updates found no active registration.
func pgBatchRun(ctx context.Context, db querier, batch []*writeOp, links []link, from, to chainTip) ([]error, bool, error) {
	seqs, prevs, hashes := make([]int64, len(links)), make([]string, len(links)), make([]string, len(links))
	for i, l := range links {
		seqs[i], prevs[i], hashes[i] = l.seq, l.prev, l.hash
	}
	args := append(pgBatchArgs(batch), seqs, prevs, hashes, from.seq, from.hash, to.seq, to.hash)
	rows, err := db.QueryContext(ctx, pgBatch, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	moved, updated := false, map[string]bool{}
	for rows.Next() {
		var head bool
		var fp string
		if err := rows.Scan(&head, &fp); err != nil {
			return nil, false, err
		}
		if head {
			moved = true
		} else {
			updated[fp] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	results := make([]error, len(batch))
	for i, op := range batch {
		if op.event == nil && !updated[op.fingerprint] {
			results[i] = registry.ErrNotRegistered
		}
	}
	return results, moved, nil
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
