package idp

import (
	"context"
	"errors"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// operatorRoles returns the operator entry whose roles and organisation a
// login with this card carries, or nil. Roles belong to the operator card
// (card type 8 or 9), not to the fiscal code: the same person logging in
// with a personal TS-CNS is a citizen and gets none, unless the operator
// entry says any card will do (AnyCard). Outside its validity dates the
// entry grants nothing.
func (s *Service) operatorRoles(ctx context.Context, id *x509cns.Identity) (*registry.Operator, error) {
	op, err := s.registry.Operator(ctx, id.FiscalCode)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case !op.ValidAt(s.opts.Now()):
		s.logger.InfoContext(ctx, "operator roles not granted: outside the operator's validity dates",
			"fiscal_code", x509cns.MaskFiscalCode(id.FiscalCode), "valid_from", op.ValidFrom, "valid_until", op.ValidUntil)
		return nil, nil
	case op.AnyCard || id.CardType == x509cns.CardTypeOperator:
		return op, nil
	}
	s.logger.InfoContext(ctx, "operator roles not granted: not an operator card",
		"fiscal_code", x509cns.MaskFiscalCode(id.FiscalCode), "card_type", id.CardType)
	return nil, nil
}
