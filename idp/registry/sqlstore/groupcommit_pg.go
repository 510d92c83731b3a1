package sqlstore

import (
	"context"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// pgBatch is one statement, so one round trip and one transaction whatever
// the batch holds: the events as arrays unnested into audit_events, the
// last-login updates as arrays joined to registrations, returning the
// fingerprints it updated. pgx prepares it once per connection.
const pgBatch = `WITH ins AS (
	INSERT INTO audit_events (at, kind, outcome, reason, fiscal_code, client, session_hash, card_serial, issuer, remote_ip, request_id, detail)
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
), upd AS (
	UPDATE registrations r SET last_login_at = l.at
	FROM unnest($13::text[], $14::timestamptz[]) AS l(fp, at)
	WHERE r.fingerprint = l.fp AND r.status = 'active'
	RETURNING r.fingerprint
)
SELECT fingerprint FROM upd`

// commitPostgres writes the batch with pgBatch.
func (d *DB) commitPostgres(ctx context.Context, batch []*writeOp) ([]error, error) {
	var cols [12][]string
	var ats []time.Time
	logins := map[string]time.Time{} // a card twice in a batch: its latest login
	for _, op := range batch {
		if e := op.event; e != nil {
			ats = append(ats, e.At.UTC().Truncate(time.Microsecond))
			for i, v := range []string{"", string(e.Kind), string(e.Outcome), e.Reason, x509cns.NormalizeFiscalCode(e.FiscalCode),
				e.Client, e.SessionHash, e.CardSerial, e.Issuer, e.RemoteIP, e.RequestID, string(e.Detail)} {
				if i > 0 {
					cols[i] = append(cols[i], v)
				}
			}
		}
		if op.fingerprint != "" {
			if at, ok := logins[op.fingerprint]; !ok || op.at.After(at) {
				logins[op.fingerprint] = op.at
			}
		}
	}
	fps := make([]string, 0, len(logins))
	fpAts := make([]time.Time, 0, len(logins))
	for fp, at := range logins {
		fps, fpAts = append(fps, fp), append(fpAts, at.UTC().Truncate(time.Microsecond))
	}
	for i := 1; i < len(cols); i++ {
		if cols[i] == nil {
			cols[i] = []string{}
		}
	}
	if ats == nil {
		ats = []time.Time{}
	}
	rows, err := d.db.QueryContext(ctx, pgBatch, ats, cols[1], cols[2], cols[3], cols[4], cols[5], cols[6],
		cols[7], cols[8], cols[9], cols[10], cols[11], fps, fpAts)
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
		if op.event == nil && op.fingerprint != "" && !updated[op.fingerprint] {
			results[i] = registry.ErrNotRegistered
		}
	}
	return results, nil
}
