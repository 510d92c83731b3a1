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

// cleanRoles trims roles, drops duplicates and rejects empty ones.
func cleanRoles(roles []string) ([]string, error) {
	out := make([]string, 0, len(roles))
	seen := make(map[string]bool, len(roles))
	for _, r := range roles {
		r = strings.TrimSpace(r)
		if r == "" {
			return nil, errors.New("registry: operator role must not be empty")
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// PutOperator creates the operator or replaces its roles, organisation,
// validity and AnyCard, keeping the original CreatedAt.
func (d *DB) PutOperator(ctx context.Context, o registry.Operator) error {
	return d.putOperator(ctx, d.db, o)
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (d *DB) putOperator(ctx context.Context, db execer, o registry.Operator) error {
	cf, err := normalizeFiscalCode(o.FiscalCode)
	if err != nil {
		return err
	}
	roles, err := cleanRoles(o.Roles)
	if err != nil {
		return err
	}
	js, err := json.Marshal(roles)
	if err != nil {
		return err
	}
	now := d.ts(d.now())
	_, err = db.ExecContext(ctx, d.q(`INSERT INTO operators (fiscal_code, roles, organisation, any_card, created_at, updated_at,
			organisation_name, valid_from, valid_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (fiscal_code) DO UPDATE SET roles = excluded.roles, organisation = excluded.organisation,
			any_card = excluded.any_card, updated_at = excluded.updated_at, organisation_name = excluded.organisation_name,
			valid_from = excluded.valid_from, valid_until = excluded.valid_until`),
		cf, string(js), strings.TrimSpace(o.Organisation), o.AnyCard, now, now,
		strings.TrimSpace(o.OrganisationName), d.tsOrNull(o.ValidFrom), d.tsOrNull(o.ValidUntil))
	if err != nil {
		return fmt.Errorf("registry: put operator: %w", err)
	}
	return nil
}

const operatorColumns = "fiscal_code, roles, organisation, any_card, created_at, updated_at, organisation_name, valid_from, valid_until"

func scanOperator(row interface{ Scan(...any) error }) (*registry.Operator, error) {
	var o registry.Operator
	var roles string
	if err := row.Scan(&o.FiscalCode, &roles, &o.Organisation, &o.AnyCard, dbTime{&o.CreatedAt}, dbTime{&o.UpdatedAt},
		&o.OrganisationName, dbTime{&o.ValidFrom}, dbTime{&o.ValidUntil}); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(roles), &o.Roles); err != nil {
		return nil, fmt.Errorf("registry: operator roles: %w", err)
	}
	return &o, nil
}

// Operator returns the operator with that fiscal code, or registry.ErrNotFound.
func (d *DB) Operator(ctx context.Context, fiscalCode string) (*registry.Operator, error) {
	o, err := scanOperator(d.db.QueryRowContext(ctx,
		d.q("SELECT "+operatorColumns+" FROM operators WHERE fiscal_code = ?"), x509cns.NormalizeFiscalCode(fiscalCode)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, registry.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("registry: operator: %w", err)
	}
	return o, nil
}

// ListOperators returns every operator, by fiscal code.
func (d *DB) ListOperators(ctx context.Context) ([]registry.Operator, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT "+operatorColumns+" FROM operators ORDER BY fiscal_code")
	if err != nil {
		return nil, fmt.Errorf("registry: list operators: %w", err)
	}
	defer rows.Close()
	var out []registry.Operator
	for rows.Next() {
		o, err := scanOperator(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: list operators: %w", err)
		}
		out = append(out, *o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: list operators: %w", err)
	}
	return out, nil
}

// DeleteOperator removes an operator, or returns registry.ErrNotFound.
func (d *DB) DeleteOperator(ctx context.Context, fiscalCode string) error {
	_, err := d.execAffecting(ctx, "delete operator", registry.ErrNotFound,
		"DELETE FROM operators WHERE fiscal_code = ?", x509cns.NormalizeFiscalCode(fiscalCode))
	return err
}

// tsOrNull is ts, or NULL for the zero time (no bound).
func (d *DB) tsOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.ts(t)
}
