package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// This file holds the reports of the audit trail for other systems and the
// security team: the size of a search (CountAudit, for pagination), its
// newest id (MaxAuditID, the snapshot its pages share) and the events per
// day by one dimension (AggregateAudit).

// CountAudit returns how many events match q (Limit and Offset ignored).
func (d *DB) CountAudit(ctx context.Context, q registry.AuditQuery) (int, error) {
	if err := checkAuditQuery(q); err != nil {
		return 0, err
	}
	where, args := d.auditWhere(q)
	query := "SELECT COUNT(*) FROM audit_events" + whereClause(where)
	var n int
	if err := d.rdb.QueryRowContext(ctx, d.q(query), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("registry: count audit: %w", err)
	}
	return n, nil
}

// MaxAuditID returns the highest id of the trail (0 when empty): a search
// that pins AuditQuery.MaxID to it keeps its pages while events are written.
func (d *DB) MaxAuditID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := d.rdb.QueryRowContext(ctx, "SELECT MAX(id) FROM audit_events").Scan(&id); err != nil {
		return 0, fmt.Errorf("registry: max audit id: %w", err)
	}
	return id.Int64, nil
}

// AggregateAudit counts the events matching q per day (UTC) and value of
// the dimension by, oldest day first, then by count (largest first) and
// value. Limit and Offset are ignored.
func (d *DB) AggregateAudit(ctx context.Context, q registry.AuditQuery, by registry.AuditDimension) ([]registry.AuditBucket, error) {
	if err := checkAuditQuery(q); err != nil {
		return nil, err
	}
	col := ""
	switch by {
	case registry.ByOutcome, registry.ByReason, registry.ByIssuer, registry.ByClient:
		col = string(by)
	default:
		return nil, fmt.Errorf("registry: aggregate audit: unknown dimension %q", by)
	}
	day := "substr(at, 1, 10)" // fixed-width UTC text
	if d.dialect == DriverPostgres {
		day = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	}
	where, args := d.auditWhere(q)
	query := "SELECT " + day + " AS day, " + col + ", COUNT(*) AS n FROM audit_events" + whereClause(where) +
		" GROUP BY day, " + col + " ORDER BY day, n DESC, " + col
	rows, err := d.rdb.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("registry: aggregate audit: %w", err)
	}
	defer rows.Close()
	out := []registry.AuditBucket{}
	for rows.Next() {
		var b registry.AuditBucket
		if err := rows.Scan(&b.Day, &b.Value, &b.Count); err != nil {
			return nil, fmt.Errorf("registry: aggregate audit: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: aggregate audit: %w", err)
	}
	return out, nil
}

func checkAuditQuery(q registry.AuditQuery) error {
	if q.Outcome != "" && q.Outcome != registry.OutcomeSuccess && q.Outcome != registry.OutcomeFailure {
		return fmt.Errorf("registry: query audit: unknown outcome %q (want %s or %s)", q.Outcome, registry.OutcomeSuccess, registry.OutcomeFailure)
	}
	return nil
}

func whereClause(where []string) string {
	if len(where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(where, " AND ")
}
