package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// The administration of operators (cnsgate operators, the admin API): each
// act changes the operators table and writes its audit event, naming who
// made it, in one transaction, so that no change goes unaudited.

// AddOperator stores a new operator; registry.ErrExists if the fiscal code
// already is one.
func (d *DB) AddOperator(ctx context.Context, o registry.Operator, actor string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := d.operatorIn(ctx, tx, o.FiscalCode); err == nil {
			return fmt.Errorf("%w: operator %s", registry.ErrExists, x509cns.MaskFiscalCode(o.FiscalCode))
		} else if !errors.Is(err, registry.ErrNotFound) {
			return err
		}
		if err := d.putOperator(ctx, tx, o); err != nil {
			return err
		}
		return d.auditOperator(ctx, tx, registry.OperatorAdd, actor, o)
	})
}

// UpdateOperator replaces an existing operator's entry; registry.ErrNotFound
// if there is none.
func (d *DB) UpdateOperator(ctx context.Context, o registry.Operator, actor string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := d.operatorIn(ctx, tx, o.FiscalCode); err != nil {
			return err
		}
		if err := d.putOperator(ctx, tx, o); err != nil {
			return err
		}
		return d.auditOperator(ctx, tx, registry.OperatorUpdate, actor, o)
	})
}

// RemoveOperator deletes an operator; registry.ErrNotFound if there is none.
func (d *DB) RemoveOperator(ctx context.Context, fiscalCode, actor string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		o, err := d.operatorIn(ctx, tx, fiscalCode)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, d.q("DELETE FROM operators WHERE fiscal_code = ?"), o.FiscalCode); err != nil {
			return fmt.Errorf("registry: remove operator: %w", err)
		}
		return d.auditOperator(ctx, tx, registry.OperatorRemove, actor, *o)
	})
}

// ImportOperators adds or replaces every operator of the list, all or
// none, each audited; it returns how many were inserted and updated.
func (d *DB) ImportOperators(ctx context.Context, list []registry.Operator, actor string) (registry.ImportResult, error) {
	var res registry.ImportResult
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		res = registry.ImportResult{}
		for _, o := range list {
			_, err := d.operatorIn(ctx, tx, o.FiscalCode)
			switch {
			case errors.Is(err, registry.ErrNotFound):
				res.Inserted++
			case err != nil:
				return err
			default:
				res.Updated++
			}
			if err := d.putOperator(ctx, tx, o); err != nil {
				return fmt.Errorf("operator %s: %w", x509cns.MaskFiscalCode(o.FiscalCode), err)
			}
			if err := d.auditOperator(ctx, tx, registry.OperatorImport, actor, o); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

func (d *DB) operatorIn(ctx context.Context, tx *sql.Tx, fiscalCode string) (*registry.Operator, error) {
	o, err := scanOperator(tx.QueryRowContext(ctx,
		d.q("SELECT "+operatorColumns+" FROM operators WHERE fiscal_code = ?"), x509cns.NormalizeFiscalCode(fiscalCode)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("%w: operator %s", registry.ErrNotFound, x509cns.MaskFiscalCode(fiscalCode))
	case err != nil:
		return nil, fmt.Errorf("registry: operator: %w", err)
	}
	return o, nil
}

// OperatorChangeDetail is the detail of a KindOperatorChange audit event.
type OperatorChangeDetail struct {
	Action               string   `json:"action"`
	Actor                string   `json:"actor"`
	Roles                []string `json:"roles,omitempty"`
	OrganisationID       string   `json:"organisation_id,omitempty"`
	OrganisationName     string   `json:"organisation_name,omitempty"`
	ValidFrom            string   `json:"valid_from,omitempty"`
	ValidUntil           string   `json:"valid_until,omitempty"`
	OperatorCardRequired bool     `json:"operator_card_required"`
}

// auditOperator writes the change's audit event in the transaction.
func (d *DB) auditOperator(ctx context.Context, tx *sql.Tx, action, actor string, o registry.Operator) error {
	if strings.TrimSpace(actor) == "" {
		return fmt.Errorf("%w: an operator change needs its actor", registry.ErrInvalidEvent)
	}
	det := OperatorChangeDetail{Action: action, Actor: actor, Roles: o.Roles,
		OrganisationID: o.Organisation, OrganisationName: o.OrganisationName, OperatorCardRequired: !o.AnyCard}
	if !o.ValidFrom.IsZero() {
		det.ValidFrom = o.ValidFrom.UTC().Format("2006-01-02")
	}
	if !o.ValidUntil.IsZero() {
		det.ValidUntil = o.ValidUntil.UTC().Format("2006-01-02")
	}
	js, _ := json.Marshal(det)
	e := &registry.Event{At: d.now(), Kind: registry.KindOperatorChange, Outcome: registry.OutcomeSuccess, Reason: action,
		FiscalCode: o.FiscalCode, Detail: js}
	if err := d.insertChained(ctx, tx, e); err != nil {
		return fmt.Errorf("registry: audit operator change: %w", err)
	}
	return nil
}
