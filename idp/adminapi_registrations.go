package idp

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// The admin API's registration view:
//
//	GET /admin/registrations?fiscal_code=CF
//	    the citizen's cards, oldest first, and consents, oldest first:
//	    200 {"registrations":[...],"consents":[...]} (empty lists when none)
//
// and the consent's end when an administrator revokes every card of a
// citizen (POST /admin/registrations/revoke with a fiscal code): the
// consent is recorded withdrawn through channel admin-api.

// AdminActionListRegistrations is GET /admin/registrations.
const AdminActionListRegistrations = "list_registrations"

// adminRegistration is a registration as the admin API shows it.
type adminRegistration struct {
	ID           int64      `json:"id"`
	CardID       string     `json:"card_id,omitempty"`
	Issuer       string     `json:"issuer"`
	Serial       string     `json:"serial"`
	Fingerprint  string     `json:"fingerprint"`
	CardType     string     `json:"card_type,omitempty"`
	Status       string     `json:"status"`
	RegisteredAt time.Time  `json:"registered_at"`
	LastLoginAt  *time.Time `json:"last_login_at,omitempty"`
	ReplacedAt   *time.Time `json:"replaced_at,omitempty"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
}

// adminConsent is a consent as the admin API shows it; version and channel
// are empty for the consent of a registration made before consents were
// recorded.
type adminConsent struct {
	Version          string     `json:"version"`
	Channel          string     `json:"channel"`
	GivenAt          time.Time  `json:"given_at"`
	WithdrawnAt      *time.Time `json:"withdrawn_at,omitempty"`
	WithdrawnChannel string     `json:"withdrawn_channel,omitempty"`
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (a *adminAPI) listRegistrations(ctx context.Context, r *http.Request, c *adminCall) {
	t, ok := a.target(r, c, false)
	if !ok {
		return
	}
	regs, err := a.reg.List(ctx, registry.ListFilter{FiscalCode: t.FiscalCode})
	if err != nil {
		c.fail(http.StatusInternalServerError, AdminResultError, "registry: "+err.Error())
		return
	}
	consents, err := a.reg.Consents(ctx, t.FiscalCode)
	if err != nil {
		c.fail(http.StatusInternalServerError, AdminResultError, "registry: "+err.Error())
		return
	}
	out := struct {
		Registrations []adminRegistration `json:"registrations"`
		Consents      []adminConsent      `json:"consents"`
	}{Registrations: []adminRegistration{}, Consents: []adminConsent{}}
	for _, g := range regs {
		out.Registrations = append(out.Registrations, adminRegistration{ID: g.ID, CardID: g.CardID, Issuer: g.Issuer, Serial: g.Serial,
			Fingerprint: g.Fingerprint, CardType: g.CardType, Status: string(g.Status), RegisteredAt: g.RegisteredAt,
			LastLoginAt: timeOrNil(g.LastLoginAt), ReplacedAt: timeOrNil(g.ReplacedAt), RevokedAt: timeOrNil(g.RevokedAt)})
	}
	for _, k := range consents {
		out.Consents = append(out.Consents, adminConsent{Version: k.Version, Channel: k.Channel, GivenAt: k.GivenAt,
			WithdrawnAt: timeOrNil(k.WithdrawnAt), WithdrawnChannel: k.WithdrawnChannel})
	}
	c.ok(out)
}

// WithdrawConsentBy records the citizen's consent withdrawn through
// channel (registry.ChannelAdminAPI, registry.ChannelCLI) when an
// administrator revokes every card of the citizen, and audits it; a
// citizen with no consent left to withdraw is no error.
func (s *Service) WithdrawConsentBy(ctx context.Context, reg interface {
	WithdrawConsent(ctx context.Context, fiscalCode, channel string) (int, error)
}, fiscalCode, channel string) error {
	n, err := reg.WithdrawConsent(ctx, fiscalCode, channel)
	if errors.Is(err, registry.ErrNotFound) || (err == nil && n == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	s.Audit(ctx, registry.Event{Kind: registry.KindConsentWithdrawn, Outcome: registry.OutcomeSuccess, FiscalCode: fiscalCode,
		Detail: []byte(`{"channel":"` + channel + `"}`)})
	return nil
}
