package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// This file holds the administrative operations on registrations, behind
// "cnsgate registrations list|revoke".

// List returns registrations in registration order (oldest first).
func (d *DB) List(ctx context.Context, f registry.ListFilter) ([]registry.Registration, error) {
	switch f.Status {
	case "", registry.StatusActive, registry.StatusReplaced, registry.StatusRevoked:
	default:
		return nil, fmt.Errorf("registry: list: unknown status %q (want %s, %s or %s)", f.Status, registry.StatusActive, registry.StatusReplaced, registry.StatusRevoked)
	}
	var where []string
	var args []any
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.FiscalCode != "" {
		where, args = append(where, "fiscal_code = ?"), append(args, x509cns.NormalizeFiscalCode(f.FiscalCode))
	}
	if f.Issuer != "" {
		where, args = append(where, "issuer = ?"), append(args, f.Issuer)
	}
	if f.Serial != "" {
		where, args = append(where, "serial = ?"), append(args, strings.ToLower(f.Serial))
	}
	query := "SELECT " + registrationColumns + " FROM registrations"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id" + d.limitOffset(f.Limit, f.Offset)
	rows, err := d.rdb.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("registry: list: %w", err)
	}
	defer rows.Close()
	var out []registry.Registration
	for rows.Next() {
		r, err := scanRegistration(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: list: %w", err)
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: list: %w", err)
	}
	return out, nil
}

// Revoke revokes every registration of a fiscal code that is not already
// revoked (the active card and any replaced ones) and returns how many it
// revoked; registry.ErrNotRegistered if none. Revoked cards can never be
// registered again; the citizen may register a different card.
func (d *DB) Revoke(ctx context.Context, fiscalCode string) (int, error) {
	n, err := d.execAffecting(ctx, "revoke", registry.ErrNotRegistered,
		"UPDATE registrations SET status = 'revoked', revoked_at = ? WHERE fiscal_code = ? AND status <> 'revoked'",
		d.ts(d.now()), x509cns.NormalizeFiscalCode(fiscalCode))
	return int(n), err
}

// RevokeCard revokes the registration of the card whose certificate has
// this SHA-256 fingerprint (lower-case hex), unless already revoked, and
// returns how many it revoked (0 or 1); registry.ErrNotRegistered if none.
func (d *DB) RevokeCard(ctx context.Context, fingerprint string) (int, error) {
	n, err := d.execAffecting(ctx, "revoke card", registry.ErrNotRegistered,
		"UPDATE registrations SET status = 'revoked', revoked_at = ? WHERE fingerprint = ? AND status <> 'revoked'",
		d.ts(d.now()), strings.ToLower(strings.TrimSpace(fingerprint)))
	return int(n), err
}
