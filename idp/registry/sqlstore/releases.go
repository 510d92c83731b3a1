package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
)

// ReleaseAgreed reports whether the citizen has agreed to release to
// client the list of fields whose hash is fieldsHash (the data-release
// page of the login service). An agreement to another list does not count.
func (d *DB) ReleaseAgreed(ctx context.Context, fiscalCode, client, fieldsHash string) (bool, error) {
	var stored string
	err := d.rdb.QueryRowContext(ctx, d.q("SELECT fields_hash FROM releases WHERE fiscal_code = ? AND client = ?"),
		x509cns.NormalizeFiscalCode(fiscalCode), client).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("registry: release agreed: %w", err)
	}
	return stored == fieldsHash, nil
}

// AgreeRelease records the citizen's agreement to release to client the
// list of fields of fieldsHash, replacing an agreement to another list.
func (d *DB) AgreeRelease(ctx context.Context, fiscalCode, client, fieldsHash string, at time.Time) error {
	if fiscalCode == "" || client == "" || fieldsHash == "" {
		return errors.New("registry: agree release: fiscal code, client and fields hash are required")
	}
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO releases (fiscal_code, client, fields_hash, agreed_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (fiscal_code, client) DO UPDATE SET fields_hash = excluded.fields_hash, agreed_at = excluded.agreed_at`),
		x509cns.NormalizeFiscalCode(fiscalCode), client, fieldsHash, d.ts(at))
	if err != nil {
		return fmt.Errorf("registry: agree release: %w", err)
	}
	return nil
}
