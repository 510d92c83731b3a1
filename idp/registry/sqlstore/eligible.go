package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// ImportEligible adds or updates the given citizens in one transaction; with
// replaceAll it also removes every citizen not in the list, so that the
// allowlist becomes exactly the list. Every fiscal code is normalised and
// validated first; duplicates are an error. Nothing is written unless all
// entries are valid.
func (d *DB) ImportEligible(ctx context.Context, list []registry.Eligible, replaceAll bool) (registry.ImportResult, error) {
	clean, seen, err := cleanEligible(list)
	if err != nil {
		return registry.ImportResult{}, fmt.Errorf("registry: import allowlist: %w", err)
	}
	var res registry.ImportResult
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		res = registry.ImportResult{}
		if err := d.upsertEligible(ctx, tx, clean, &res); err != nil {
			return err
		}
		if replaceAll {
			n, err := d.removeAbsent(ctx, tx, seen)
			if err != nil {
				return err
			}
			res.Removed = n
		}
		return nil
	})
	if err != nil {
		return registry.ImportResult{}, fmt.Errorf("registry: import allowlist: %w", err)
	}
	return res, nil
}

// cleanEligible normalises and validates every entry and refuses
// duplicates, reporting every bad entry at once. seen maps each fiscal code
// to its 1-based entry number.
func cleanEligible(list []registry.Eligible) (clean []registry.Eligible, seen map[string]int, err error) {
	var problems []error
	seen = make(map[string]int, len(list))
	clean = make([]registry.Eligible, 0, len(list))
	for i, e := range list {
		cf, err := normalizeFiscalCode(e.FiscalCode)
		if err != nil {
			problems = append(problems, fmt.Errorf("entry %d: %w", i+1, err))
			continue
		}
		if j, dup := seen[cf]; dup {
			problems = append(problems, fmt.Errorf("entry %d: %s: %w (entry %d)", i+1, x509cns.MaskFiscalCode(cf), registry.ErrDuplicate, j))
			continue
		}
		seen[cf] = i + 1
		clean = append(clean, registry.Eligible{FiscalCode: cf, GivenName: strings.TrimSpace(e.GivenName),
			FamilyName: strings.TrimSpace(e.FamilyName), Note: strings.TrimSpace(e.Note)})
	}
	return clean, seen, errors.Join(problems...)
}

// upsertEligible inserts the new citizens and updates the changed ones,
// counting each kind in res.
func (d *DB) upsertEligible(ctx context.Context, tx *sql.Tx, list []registry.Eligible, res *registry.ImportResult) error {
	now := d.ts(d.now())
	get, err := tx.PrepareContext(ctx, d.q("SELECT given_name, family_name, note FROM eligible_citizens WHERE fiscal_code = ?"))
	if err != nil {
		return err
	}
	defer get.Close()
	ins, err := tx.PrepareContext(ctx, d.q("INSERT INTO eligible_citizens (fiscal_code, given_name, family_name, note, imported_at) VALUES (?, ?, ?, ?, ?)"))
	if err != nil {
		return err
	}
	defer ins.Close()
	upd, err := tx.PrepareContext(ctx, d.q("UPDATE eligible_citizens SET given_name = ?, family_name = ?, note = ?, imported_at = ? WHERE fiscal_code = ?"))
	if err != nil {
		return err
	}
	defer upd.Close()
	for _, e := range list {
		var old registry.Eligible
		err := get.QueryRowContext(ctx, e.FiscalCode).Scan(&old.GivenName, &old.FamilyName, &old.Note)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := ins.ExecContext(ctx, e.FiscalCode, e.GivenName, e.FamilyName, e.Note, now); err != nil {
				return err
			}
			res.Inserted++
		case err != nil:
			return err
		case old.GivenName == e.GivenName && old.FamilyName == e.FamilyName && old.Note == e.Note:
			res.Unchanged++
		default:
			if _, err := upd.ExecContext(ctx, e.GivenName, e.FamilyName, e.Note, now, e.FiscalCode); err != nil {
				return err
			}
			res.Updated++
		}
	}
	return nil
}

// removeAbsent deletes the citizens whose fiscal code is not in keep.
func (d *DB) removeAbsent(ctx context.Context, tx *sql.Tx, keep map[string]int) (int, error) {
	rows, err := tx.QueryContext(ctx, "SELECT fiscal_code FROM eligible_citizens")
	if err != nil {
		return 0, err
	}
	var gone []string
	for rows.Next() {
		var cf string
		if err := rows.Scan(&cf); err != nil {
			rows.Close()
			return 0, err
		}
		if _, ok := keep[cf]; !ok {
			gone = append(gone, cf)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	del, err := tx.PrepareContext(ctx, d.q("DELETE FROM eligible_citizens WHERE fiscal_code = ?"))
	if err != nil {
		return 0, err
	}
	defer del.Close()
	for _, cf := range gone {
		if _, err := del.ExecContext(ctx, cf); err != nil {
			return 0, err
		}
	}
	return len(gone), nil
}

// IsEligible reports whether a fiscal code is on the allowlist.
func (d *DB) IsEligible(ctx context.Context, fiscalCode string) (bool, error) {
	var n int64
	err := d.rdb.QueryRowContext(ctx, d.q("SELECT COUNT(*) FROM eligible_citizens WHERE fiscal_code = ?"),
		x509cns.NormalizeFiscalCode(fiscalCode)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("registry: is eligible: %w", err)
	}
	return n > 0, nil
}

// CountEligible returns the number of citizens on the allowlist.
func (d *DB) CountEligible(ctx context.Context) (int, error) {
	var n int64
	if err := d.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM eligible_citizens").Scan(&n); err != nil {
		return 0, fmt.Errorf("registry: count eligible: %w", err)
	}
	return int(n), nil
}
