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
	o, err := scanOperator(d.rdb.QueryRowContext(ctx,
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
	rows, err := d.rdb.QueryContext(ctx, "SELECT "+operatorColumns+" FROM operators ORDER BY fiscal_code")
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

// loginLookup is AuthorizeLogin's query.
var loginLookup = "SELECT r." + strings.ReplaceAll(registrationColumns, ", ", ", r.") + ", o." + strings.ReplaceAll(operatorColumns, ", ", ", o.") +
	", " + latestWithdrawal +
	" FROM registrations r LEFT JOIN operators o ON o.fiscal_code = r.fiscal_code WHERE r.fingerprint = ?"

// AuthorizeLogin is Authorize and Operator in one query, the one round trip
// of a login's registration lookup: the active registration of the card,
// if it belongs to fiscalCode, and the operator entry of its fiscal code
// (nil when there is none). Errors are Authorize's: a citizen whose latest
// consent is withdrawn is not registered.
func (d *DB) AuthorizeLogin(ctx context.Context, fiscalCode, fingerprint string) (*registry.Registration, *registry.Operator, error) {
	fiscalCode = x509cns.NormalizeFiscalCode(fiscalCode)
	fp, err := normalizeFingerprint(fingerprint)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", registry.ErrNotRegistered, err)
	}
	var row interface{ Scan(...any) error }
	if d.lookup != nil {
		row = d.lookup.queryRow(ctx, fp)
	} else {
		row = d.rdb.QueryRowContext(ctx, d.q(loginLookup), fp)
	}
	var op struct {
		cf, roles, org, orgName sql.NullString
		anyCard                 sql.NullBool
		created, upd            time.Time
		validFrom, validUntil   time.Time
	}
	var reg registry.Registration
	var withdrawn time.Time
	err = row.Scan(&reg.ID, &reg.FiscalCode, &reg.CardID, &reg.Issuer, &reg.Serial, &reg.Fingerprint,
		&reg.GivenName, &reg.FamilyName, &reg.Region, &reg.CardType, &reg.Status,
		dbTime{&reg.RegisteredAt}, dbTime{&reg.LastLoginAt}, dbTime{&reg.ReplacedAt}, dbTime{&reg.RevokedAt},
		&op.cf, &op.roles, &op.org, &op.anyCard, dbTime{&op.created}, dbTime{&op.upd},
		&op.orgName, dbTime{&op.validFrom}, dbTime{&op.validUntil}, dbTime{&withdrawn})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil, registry.ErrNotRegistered
	case err != nil:
		return nil, nil, fmt.Errorf("registry: authorize login: %w", err)
	case reg.FiscalCode != fiscalCode:
		return nil, nil, fmt.Errorf("%w: card bound to another fiscal code", registry.ErrNotRegistered)
	}
	if err := statusErr(&reg); err != nil {
		return nil, nil, err
	}
	if !withdrawn.IsZero() {
		return nil, nil, fmt.Errorf("%w: consent withdrawn at %s", registry.ErrNotRegistered, withdrawn.Format(time.RFC3339))
	}
	if !op.cf.Valid {
		return &reg, nil, nil
	}
	o := &registry.Operator{FiscalCode: op.cf.String, Organisation: op.org.String, OrganisationName: op.orgName.String,
		AnyCard: op.anyCard.Bool, CreatedAt: op.created, UpdatedAt: op.upd, ValidFrom: op.validFrom, ValidUntil: op.validUntil}
	if err := json.Unmarshal([]byte(op.roles.String), &o.Roles); err != nil {
		return nil, nil, fmt.Errorf("registry: operator roles: %w", err)
	}
	return &reg, o, nil
}

// tsOrNull is ts, or NULL for the zero time (no bound).
func (d *DB) tsOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.ts(t)
}
