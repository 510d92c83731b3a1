package idp

import (
	"context"
	"errors"
	"fmt"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// Why an operator entry granted no roles to a login (the label of
// cnsgate_operator_roles_withheld_total).
const (
	RolesWithheldNotOperatorCard = "not_operator_card"
	RolesWithheldOutsideValidity = "outside_validity"
)

// RolesWithheldRecorder is the optional ability of a Recorder to count the
// logins of a person in the operator table that got no roles, by reason
// (RolesWithheldNotOperatorCard, RolesWithheldOutsideValidity).
type RolesWithheldRecorder interface {
	OperatorRolesWithheld(reason string)
}

// operatorRoles returns the operator entry whose roles and organisation a
// login with this card carries, from op (its fiscal code's entry, nil:
// none), or nil. Roles belong to the operator card (card type 8 or 9), not
// to the fiscal code: the same person logging in with a personal TS-CNS is
// a citizen and gets none, unless the operator entry says any card will do
// (AnyCard). Outside its validity dates the entry grants nothing. When an
// entry exists but grants nothing, note says why: it is logged, counted,
// and rides in the login's audit event.
func (s *Service) operatorRoles(ctx context.Context, id *x509cns.Identity, op *registry.Operator) (granted *registry.Operator, note string) {
	var reason string
	switch {
	case op == nil:
		return nil, ""
	case !op.ValidAt(s.opts.Now()):
		reason, note = RolesWithheldOutsideValidity, "operator roles not granted: outside the operator's validity dates"
		s.logger.InfoContext(ctx, note,
			"fiscal_code", x509cns.MaskFiscalCode(id.FiscalCode), "valid_from", op.ValidFrom, "valid_until", op.ValidUntil)
	case op.AnyCard || id.CardType == x509cns.CardTypeOperator:
		return op, ""
	default:
		reason, note = RolesWithheldNotOperatorCard, fmt.Sprintf("operator roles not granted: not an operator card (card type %s)", string(id.CardType))
		s.logger.InfoContext(ctx, "operator roles not granted: not an operator card",
			"fiscal_code", x509cns.MaskFiscalCode(id.FiscalCode), "card_type", id.CardType)
	}
	if rec, ok := s.recorder.(RolesWithheldRecorder); ok {
		rec.OperatorRolesWithheld(reason)
	}
	return nil, note
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
