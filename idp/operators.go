package idp

import (
	"context"
	"errors"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// operatorRoles returns the operator roles a login with this card carries,
// from its fiscal code's operator entry (nil: none). Roles belong to the
// operator card (card type 8 or 9), not to the fiscal code: the same person
// logging in with a personal TS-CNS is a citizen and gets none, unless the
// operator entry says any card will do (AnyCard).
func (s *Service) operatorRoles(ctx context.Context, id *x509cns.Identity, op *registry.Operator) []string {
	switch {
	case op == nil:
		return nil
	case op.AnyCard || id.CardType == x509cns.CardTypeOperator:
		return op.Roles
	}
	s.logger.InfoContext(ctx, "operator roles not granted: not an operator card",
		"fiscal_code", x509cns.MaskFiscalCode(id.FiscalCode), "card_type", id.CardType)
	return nil
}

// authorizeLogin looks up the card's registration and its operator entry,
// in one query when the registry can.
func (s *Service) authorizeLogin(ctx context.Context, id *x509cns.Identity) (*registry.Operator, error) {
	if la, ok := s.registry.(loginAuthorizer); ok {
		_, op, err := la.AuthorizeLogin(ctx, id.FiscalCode, id.Fingerprint)
		return op, err
	}
	if _, err := s.registry.Authorize(ctx, id.FiscalCode, id.Fingerprint); err != nil {
		return nil, err
	}
	op, err := s.registry.Operator(ctx, id.FiscalCode)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, nil
	}
	return op, err
}
