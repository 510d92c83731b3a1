package sqlstore

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// The operators CSV of `cnsgate operators import` and POST
// /admin/operators/import: a header naming the columns (any order;
// separator "," or ";"), then one operator a row:
//
//	fiscal_code;organisation_id;organisation_name;roles;valid_from;valid_until;operator_card_required
//	BNCLRA80A41H501X;120201;ASL Roma 1;operatore_asl|cms_admin;2026-01-01;;true
//
// roles are separated by "|"; dates are YYYY-MM-DD (empty: no bound);
// operator_card_required is true (default) or false.

var operatorCSVColumns = []string{"fiscal_code", "organisation_id", "organisation_name", "roles",
	"valid_from", "valid_until", "operator_card_required"}

// ParseOperatorsCSV reads an operators CSV, checking every row against the
// configured roles (empty: any); every bad row is reported (*CSVError).
func ParseOperatorsCSV(r io.Reader, allowedRoles []string) ([]registry.Operator, error) {
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, err
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	if first, _, _ := strings.Cut(text, "\n"); strings.Count(first, ";") > strings.Count(first, ",") {
		cr.Comma = ';'
	}
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("operators CSV: no header: %w", err)
	}
	cols, err := operatorHeader(header)
	if err != nil {
		return nil, err
	}
	var out []registry.Operator
	bad := &CSVError{What: "operators CSV"}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			bad.Lines = append(bad.Lines, &LineError{Line: line, Err: err})
			continue
		}
		o, err := operatorRow(rec, cols, allowedRoles)
		if err == nil {
			if prev, dup := seen[o.FiscalCode]; dup {
				err = fmt.Errorf("%w (line %d)", registry.ErrDuplicate, prev)
			}
		}
		if err != nil {
			bad.Lines = append(bad.Lines, &LineError{Line: line, Err: err})
			continue
		}
		seen[o.FiscalCode] = line
		out = append(out, o)
	}
	if len(bad.Lines) > 0 {
		return nil, bad
	}
	return out, nil
}

func operatorHeader(header []string) (map[string]int, error) {
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range operatorCSVColumns {
			known = known || c == h
		}
		if !known {
			return nil, fmt.Errorf("operators CSV: unknown column %q (want %s)", h, strings.Join(operatorCSVColumns, ", "))
		}
		cols[h] = i
	}
	for _, need := range []string{"fiscal_code", "roles"} {
		if _, ok := cols[need]; !ok {
			return nil, fmt.Errorf("operators CSV: the header has no %s column", need)
		}
	}
	return cols, nil
}

func operatorRow(rec []string, cols map[string]int, allowedRoles []string) (registry.Operator, error) {
	get := func(name string) string {
		if i, ok := cols[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	cf, err := normalizeFiscalCode(get("fiscal_code"))
	if err != nil {
		return registry.Operator{}, err
	}
	o := registry.Operator{FiscalCode: cf, Organisation: get("organisation_id"), OrganisationName: get("organisation_name")}
	for _, r := range strings.Split(get("roles"), "|") {
		if r = strings.TrimSpace(r); r != "" {
			o.Roles = append(o.Roles, r)
		}
	}
	if o.ValidFrom, err = ParseOperatorDate(get("valid_from")); err != nil {
		return o, fmt.Errorf("valid_from: %w", err)
	}
	if o.ValidUntil, err = ParseOperatorDate(get("valid_until")); err != nil {
		return o, fmt.Errorf("valid_until: %w", err)
	}
	if v := get("operator_card_required"); v != "" {
		req, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("operator_card_required: %q is not true or false", v)
		}
		o.AnyCard = !req
	}
	return o, registry.CheckOperator(o, allowedRoles)
}

// ParseOperatorDate reads a validity date, YYYY-MM-DD (midnight UTC) or
// RFC 3339; "" is no bound (the zero time).
func ParseOperatorDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return t.UTC(), nil
}

// ImportOperatorsCSV parses an operators CSV and imports it, all or none,
// each row audited with actor (the admin API's import).
func (d *DB) ImportOperatorsCSV(ctx context.Context, r io.Reader, allowedRoles []string, actor string) (registry.ImportResult, error) {
	list, err := ParseOperatorsCSV(r, allowedRoles)
	if err != nil {
		return registry.ImportResult{}, err
	}
	return d.ImportOperators(ctx, list, actor)
}
