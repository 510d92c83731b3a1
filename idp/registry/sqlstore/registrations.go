package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

const registrationColumns = "id, fiscal_code, card_id, issuer, serial, fingerprint, given_name, family_name, region, card_type, status, registered_at, last_login_at, replaced_at, revoked_at"

func scanRegistration(row interface{ Scan(...any) error }) (*registry.Registration, error) {
	var r registry.Registration
	err := row.Scan(&r.ID, &r.FiscalCode, &r.CardID, &r.Issuer, &r.Serial, &r.Fingerprint,
		&r.GivenName, &r.FamilyName, &r.Region, &r.CardType, &r.Status,
		dbTime{&r.RegisteredAt}, dbTime{&r.LastLoginAt}, dbTime{&r.ReplacedAt}, dbTime{&r.RevokedAt})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// normalizeFingerprint lower-cases a hex SHA-256 and checks its shape.
func normalizeFingerprint(fp string) (string, error) {
	fp = strings.ToLower(strings.TrimSpace(fp))
	if len(fp) != 64 || strings.Trim(fp, "0123456789abcdef") != "" {
		return "", fmt.Errorf("registry: fingerprint must be 64 hex digits (SHA-256)")
	}
	return fp, nil
}

// normalizeFiscalCode normalises and validates a fiscal code.
func normalizeFiscalCode(cf string) (string, error) {
	cf = x509cns.NormalizeFiscalCode(cf)
	if err := x509cns.ValidateFiscalCode(cf); err != nil {
		return "", fmt.Errorf("registry: fiscal code %s: %w", x509cns.MaskFiscalCode(cf), err)
	}
	return cf, nil
}

// Register binds the card in r to r.FiscalCode, in one transaction. A new
// card for a fiscal code that already has an active card marks the old one
// replaced and returns it as replaced. Registering the active card again
// returns the existing row. A card that was replaced or revoked cannot be
// registered again (registry.ErrReplaced, registry.ErrRevoked). RegisteredAt
// comes from the clock; ID, Status and the other times in r are ignored.
// The consent r carries (ConsentVersion, ConsentChannel) is recorded in the
// same transaction, also when the active card registers again (after the
// citizen withdrew consent).
func (d *DB) Register(ctx context.Context, r registry.Registration) (reg, replaced *registry.Registration, err error) {
	if err := normalizeRegistration(&r); err != nil {
		return nil, nil, err
	}
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		reg, replaced = nil, nil
		existing, err := scanRegistration(tx.QueryRowContext(ctx,
			d.q("SELECT "+registrationColumns+" FROM registrations WHERE fingerprint = ?"), r.Fingerprint))
		switch {
		case err == nil:
			if existing.FiscalCode != r.FiscalCode {
				return fmt.Errorf("registry: card already registered to fiscal code %s", x509cns.MaskFiscalCode(existing.FiscalCode))
			}
			if err := statusErr(existing); err != nil {
				return err
			}
			reg = existing
			return d.recordConsent(ctx, tx, r, d.now()) // registering again after a withdrawal
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}

		now := d.now()
		old, err := scanRegistration(tx.QueryRowContext(ctx,
			d.q("SELECT "+registrationColumns+" FROM registrations WHERE fiscal_code = ? AND status = 'active'"), r.FiscalCode))
		switch {
		case err == nil:
			res, err := tx.ExecContext(ctx, d.q("UPDATE registrations SET status = 'replaced', replaced_at = ? WHERE id = ? AND status = 'active'"),
				d.ts(now), old.ID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return errRetry // another transaction replaced or revoked it first
			}
			old.Status, old.ReplacedAt = registry.StatusReplaced, now.UTC().Truncate(time.Microsecond)
			replaced = old
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}

		n := r
		n.Status = registry.StatusActive
		n.RegisteredAt = now.UTC().Truncate(time.Microsecond)
		n.LastLoginAt, n.ReplacedAt, n.RevokedAt = time.Time{}, time.Time{}, time.Time{}
		err = tx.QueryRowContext(ctx, d.q(`INSERT INTO registrations
			(fiscal_code, card_id, issuer, serial, fingerprint, given_name, family_name, region, card_type, status, registered_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?) RETURNING id`),
			n.FiscalCode, n.CardID, n.Issuer, n.Serial, n.Fingerprint, n.GivenName, n.FamilyName, n.Region, n.CardType,
			d.ts(now)).Scan(&n.ID)
		if err != nil {
			return err
		}
		reg = &n
		return d.recordConsent(ctx, tx, r, now)
	})
	switch {
	case errors.Is(err, registry.ErrReplaced), errors.Is(err, registry.ErrRevoked):
		return nil, nil, err
	case err != nil:
		return nil, nil, fmt.Errorf("registry: register: %w", err)
	}
	return reg, replaced, nil
}

// normalizeRegistration normalises and checks what Register is given.
func normalizeRegistration(r *registry.Registration) (err error) {
	if r.FiscalCode, err = normalizeFiscalCode(r.FiscalCode); err != nil {
		return err
	}
	if r.Fingerprint, err = normalizeFingerprint(r.Fingerprint); err != nil {
		return err
	}
	return checkConsent(*r)
}

// statusErr maps a non-active status to its sentinel error.
func statusErr(r *registry.Registration) error {
	switch r.Status {
	case registry.StatusActive:
		return nil
	case registry.StatusReplaced:
		return fmt.Errorf("%w (at %s)", registry.ErrReplaced, r.ReplacedAt.Format(time.RFC3339))
	case registry.StatusRevoked:
		return fmt.Errorf("%w (at %s)", registry.ErrRevoked, r.RevokedAt.Format(time.RFC3339))
	}
	return fmt.Errorf("registry: unknown registration status %q", r.Status)
}

// Authorize returns the active registration of the card with that
// fingerprint, if it belongs to fiscalCode. A card that was replaced or
// revoked gives registry.ErrReplaced or registry.ErrRevoked; anything else
// registry.ErrNotRegistered, as does a citizen whose latest consent is
// withdrawn.
func (d *DB) Authorize(ctx context.Context, fiscalCode, fingerprint string) (*registry.Registration, error) {
	fiscalCode = x509cns.NormalizeFiscalCode(fiscalCode)
	fp, err := normalizeFingerprint(fingerprint)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", registry.ErrNotRegistered, err)
	}
	r, err := scanRegistration(d.rdb.QueryRowContext(ctx,
		d.q("SELECT "+registrationColumns+" FROM registrations WHERE fingerprint = ?"), fp))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, registry.ErrNotRegistered
	case err != nil:
		return nil, fmt.Errorf("registry: authorize: %w", err)
	case r.FiscalCode != fiscalCode:
		return nil, fmt.Errorf("%w: card bound to another fiscal code", registry.ErrNotRegistered)
	}
	if err := statusErr(r); err != nil {
		return nil, err
	}
	withdrawn, err := d.consentWithdrawn(ctx, r.FiscalCode)
	switch {
	case err != nil:
		return nil, fmt.Errorf("registry: authorize: %w", err)
	case withdrawn:
		return nil, fmt.Errorf("%w: consent withdrawn", registry.ErrNotRegistered)
	}
	return r, nil
}

// RecordLogin sets the last login time of the active card with that
// fingerprint, through the group commit; registry.ErrNotRegistered if there
// is none. A login's audit event with CardFingerprint does the same in its
// own write.
func (d *DB) RecordLogin(ctx context.Context, fingerprint string, at time.Time) error {
	fp, err := normalizeFingerprint(fingerprint)
	if err != nil {
		return fmt.Errorf("%w: %v", registry.ErrNotRegistered, err)
	}
	err = d.w.submit(ctx, &writeOp{fingerprint: fp, at: at})
	switch {
	case errors.Is(err, registry.ErrNotRegistered):
		return err
	case err != nil:
		return fmt.Errorf("registry: record login: %w", err)
	}
	return nil
}

// Get returns the active registration of a fiscal code, or
// registry.ErrNotRegistered.
func (d *DB) Get(ctx context.Context, fiscalCode string) (*registry.Registration, error) {
	r, err := scanRegistration(d.rdb.QueryRowContext(ctx,
		d.q("SELECT "+registrationColumns+" FROM registrations WHERE fiscal_code = ? AND status = 'active'"),
		x509cns.NormalizeFiscalCode(fiscalCode)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, registry.ErrNotRegistered
	case err != nil:
		return nil, fmt.Errorf("registry: get: %w", err)
	}
	return r, nil
}
