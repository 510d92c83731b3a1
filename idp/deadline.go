package idp

import (
	"context"
	"errors"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// DefaultRegistryTimeout bounds one registry call when
// Options.RegistryTimeout is zero.
const DefaultRegistryTimeout = 2 * time.Second

// boundedRegistry gives every registry call its own deadline, whatever the
// caller's context allows: a hung database costs a login a clean 503 after
// the timeout, never the length of the hang. Every method returns values
// already read, so the deadline ends with the call.
type boundedRegistry struct {
	r       Registry
	timeout time.Duration
}

var _ Registry = boundedRegistry{}

// bounded runs f under a deadline of d from now.
func bounded[T any](ctx context.Context, d time.Duration, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return f(ctx)
}

func (b boundedRegistry) Authorize(ctx context.Context, fiscalCode, fingerprint string) (*registry.Registration, error) {
	return bounded(ctx, b.timeout, func(ctx context.Context) (*registry.Registration, error) {
		return b.r.Authorize(ctx, fiscalCode, fingerprint)
	})
}

func (b boundedRegistry) Register(ctx context.Context, r registry.Registration) (*registry.Registration, *registry.Registration, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	return b.r.Register(ctx, r)
}

func (b boundedRegistry) RecordLogin(ctx context.Context, fingerprint string, at time.Time) error {
	_, err := bounded(ctx, b.timeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, b.r.RecordLogin(ctx, fingerprint, at)
	})
	return err
}

func (b boundedRegistry) IsEligible(ctx context.Context, fiscalCode string) (bool, error) {
	return bounded(ctx, b.timeout, func(ctx context.Context) (bool, error) { return b.r.IsEligible(ctx, fiscalCode) })
}

func (b boundedRegistry) Operator(ctx context.Context, fiscalCode string) (*registry.Operator, error) {
	return bounded(ctx, b.timeout, func(ctx context.Context) (*registry.Operator, error) { return b.r.Operator(ctx, fiscalCode) })
}

func (b boundedRegistry) List(ctx context.Context, f registry.ListFilter) ([]registry.Registration, error) {
	return bounded(ctx, b.timeout, func(ctx context.Context) ([]registry.Registration, error) { return b.r.List(ctx, f) })
}

func (b boundedRegistry) RecentAccesses(ctx context.Context, fiscalCode string, limit int) ([]registry.Event, error) {
	return bounded(ctx, b.timeout, func(ctx context.Context) ([]registry.Event, error) {
		return b.r.RecentAccesses(ctx, fiscalCode, limit)
	})
}

func (b boundedRegistry) ReleaseAgreed(ctx context.Context, fiscalCode, client, fieldsHash string) (bool, error) {
	return bounded(ctx, b.timeout, func(ctx context.Context) (bool, error) {
		return b.r.ReleaseAgreed(ctx, fiscalCode, client, fieldsHash)
	})
}

func (b boundedRegistry) AgreeRelease(ctx context.Context, fiscalCode, client, fieldsHash string, at time.Time) error {
	_, err := bounded(ctx, b.timeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, b.r.AgreeRelease(ctx, fiscalCode, client, fieldsHash, at)
	})
	return err
}

func (b boundedRegistry) Consents(ctx context.Context, fiscalCode string) ([]registry.Consent, error) {
	return bounded(ctx, b.timeout, func(ctx context.Context) ([]registry.Consent, error) { return b.r.Consents(ctx, fiscalCode) })
}

func (b boundedRegistry) WithdrawConsent(ctx context.Context, fiscalCode, channel string) (int, error) {
	return bounded(ctx, b.timeout, func(ctx context.Context) (int, error) { return b.r.WithdrawConsent(ctx, fiscalCode, channel) })
}

func (b boundedRegistry) RemoveCard(ctx context.Context, fiscalCode string, id int64) (*registry.Registration, error) {
	return bounded(ctx, b.timeout, func(ctx context.Context) (*registry.Registration, error) { return b.r.RemoveCard(ctx, fiscalCode, id) })
}

func (b boundedRegistry) QueryAudit(ctx context.Context, q registry.AuditQuery) ([]registry.Event, error) {
	return bounded(ctx, b.timeout, func(ctx context.Context) ([]registry.Event, error) { return b.r.QueryAudit(ctx, q) })
}

// loginAuthorizer is a Registry that reads a card's registration and the
// operator entry of its fiscal code in one query (*sqlstore.DB does).
type loginAuthorizer interface {
	AuthorizeLogin(ctx context.Context, fiscalCode, fingerprint string) (*registry.Registration, *registry.Operator, error)
}

// AuthorizeLogin is Authorize and Operator under one deadline: in one query
// when the registry can, else one after the other. The operator is nil
// when the fiscal code has no operator entry.
func (b boundedRegistry) AuthorizeLogin(ctx context.Context, fiscalCode, fingerprint string) (*registry.Registration, *registry.Operator, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	if la, ok := b.r.(loginAuthorizer); ok {
		return la.AuthorizeLogin(ctx, fiscalCode, fingerprint)
	}
	reg, err := b.r.Authorize(ctx, fiscalCode, fingerprint)
	if err != nil {
		return nil, nil, err
	}
	op, err := b.r.Operator(ctx, fiscalCode)
	if errors.Is(err, registry.ErrNotFound) {
		return reg, nil, nil
	}
	return reg, op, err
}
