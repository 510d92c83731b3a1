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

// The citizen's consent (registry.Consent): recorded by Register in the
// registration's transaction, withdrawn by WithdrawConsent (the row is
// kept), read by Consents. A citizen whose latest consent is withdrawn does
// not log in (AuthorizeLogin, Authorize) until registering again, which
// records a new consent.

// latestWithdrawal is the withdrawal time of the latest consent of the
// registration r's fiscal code: NULL when it holds or there is none (cards
// registered before consents were recorded log in as before).
const latestWithdrawal = "(SELECT c.withdrawn_at FROM consents c WHERE c.fiscal_code = r.fiscal_code ORDER BY c.id DESC LIMIT 1)"

const consentColumns = "id, fiscal_code, version, channel, given_at, withdrawn_at, withdrawn_channel"

// maxConsentField bounds a consent's version and channel.
const maxConsentField = 64

// checkConsentField refuses an empty, overlong or non-printable version or
// channel.
func checkConsentField(what, v string) error {
	if v == "" || len(v) > maxConsentField || strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return fmt.Errorf("registry: consent %s must be 1 to %d printable characters", what, maxConsentField)
	}
	return nil
}

// recordConsent adds the consent of r, when r carries one, in tx.
func (d *DB) recordConsent(ctx context.Context, tx *sql.Tx, r registry.Registration, at time.Time) error {
	if r.ConsentVersion == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, d.q("INSERT INTO consents (fiscal_code, version, channel, given_at) VALUES (?, ?, ?, ?)"),
		r.FiscalCode, r.ConsentVersion, r.ConsentChannel, d.ts(at))
	return err
}

// checkConsent validates the consent a registration carries, if any.
func checkConsent(r registry.Registration) error {
	if r.ConsentVersion == "" && r.ConsentChannel == "" {
		return nil
	}
	if err := checkConsentField("version", r.ConsentVersion); err != nil {
		return err
	}
	return checkConsentField("channel", r.ConsentChannel)
}

// Consents returns the consents of a fiscal code, oldest first.
func (d *DB) Consents(ctx context.Context, fiscalCode string) ([]registry.Consent, error) {
	rows, err := d.rdb.QueryContext(ctx, d.q("SELECT "+consentColumns+" FROM consents WHERE fiscal_code = ? ORDER BY id"),
		x509cns.NormalizeFiscalCode(fiscalCode))
	if err != nil {
		return nil, fmt.Errorf("registry: consents: %w", err)
	}
	defer rows.Close()
	var out []registry.Consent
	for rows.Next() {
		var c registry.Consent
		if err := rows.Scan(&c.ID, &c.FiscalCode, &c.Version, &c.Channel, dbTime{&c.GivenAt}, dbTime{&c.WithdrawnAt}, &c.WithdrawnChannel); err != nil {
			return nil, fmt.Errorf("registry: consents: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: consents: %w", err)
	}
	return out, nil
}

// WithdrawConsent withdraws the consents of a fiscal code that hold,
// through channel, and returns how many it withdrew; registry.ErrNotFound
// when the fiscal code has neither a consent that holds nor a card. The
// rows are kept with their withdrawal time. A citizen registered before
// consents were recorded gets a withdrawn record of the consent given at
// the first registration (version and channel empty: not recorded), so
// that the withdrawal stops the logins all the same.
func (d *DB) WithdrawConsent(ctx context.Context, fiscalCode, channel string) (int, error) {
	if err := checkConsentField("channel", channel); err != nil {
		return 0, err
	}
	cf := x509cns.NormalizeFiscalCode(fiscalCode)
	var n int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		now := d.ts(d.now())
		res, err := tx.ExecContext(ctx, d.q("UPDATE consents SET withdrawn_at = ?, withdrawn_channel = ? WHERE fiscal_code = ? AND withdrawn_at IS NULL"),
			now, channel, cf)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		var first time.Time
		var recorded bool
		if err := tx.QueryRowContext(ctx, d.q(`SELECT (SELECT MIN(registered_at) FROM registrations WHERE fiscal_code = ?),
			EXISTS (SELECT 1 FROM consents WHERE fiscal_code = ?)`), cf, cf).Scan(dbTime{&first}, &recorded); err != nil {
			return err
		}
		if first.IsZero() || recorded { // no card, or every consent already withdrawn
			return registry.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, d.q(`INSERT INTO consents (fiscal_code, version, channel, given_at, withdrawn_at, withdrawn_channel)
			VALUES (?, '', '', ?, ?, ?)`), cf, d.ts(first), now, channel); err != nil {
			return err
		}
		n = 1
		return nil
	})
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return 0, err
	case err != nil:
		return 0, fmt.Errorf("registry: withdraw consent: %w", err)
	}
	return int(n), nil
}

// consentWithdrawn reports whether the latest consent of a fiscal code is
// withdrawn (false when it has none).
func (d *DB) consentWithdrawn(ctx context.Context, fiscalCode string) (bool, error) {
	var at time.Time
	err := d.rdb.QueryRowContext(ctx, d.q("SELECT withdrawn_at FROM consents WHERE fiscal_code = ? ORDER BY id DESC LIMIT 1"),
		fiscalCode).Scan(dbTime{&at})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return !at.IsZero(), nil
}

// RemoveCard revokes, at the citizen's request, the registration with this
// id if it belongs to fiscalCode and is not already revoked, and returns it
// as it now stands; registry.ErrNotFound otherwise. A removed card cannot be
// registered again, as after an administrator's revocation.
func (d *DB) RemoveCard(ctx context.Context, fiscalCode string, id int64) (*registry.Registration, error) {
	cf := x509cns.NormalizeFiscalCode(fiscalCode)
	var out *registry.Registration
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		r, err := scanRegistration(tx.QueryRowContext(ctx,
			d.q("SELECT "+registrationColumns+" FROM registrations WHERE id = ? AND fiscal_code = ?"), id, cf))
		if errors.Is(err, sql.ErrNoRows) {
			return registry.ErrNotFound
		}
		if err != nil {
			return err
		}
		if r.Status == registry.StatusRevoked {
			return registry.ErrNotFound
		}
		now := d.now()
		if _, err := tx.ExecContext(ctx, d.q("UPDATE registrations SET status = 'revoked', revoked_at = ? WHERE id = ?"), d.ts(now), r.ID); err != nil {
			return err
		}
		r.Status, r.RevokedAt = registry.StatusRevoked, now.UTC().Truncate(time.Microsecond)
		out = r
		return nil
	})
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("registry: remove card: %w", err)
	}
	return out, nil
}
