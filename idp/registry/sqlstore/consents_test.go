package sqlstore

import (
	"errors"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// TestConsents: Register records the consent (version, time, channel) in
// its transaction; a withdrawal keeps the row with its time and channel and
// stops the card's logins until the citizen registers again, which adds a
// new consent; RemoveCard revokes only the citizen's own cards; the audit
// trail pages with Offset. Both dialects.
func TestConsents(t *testing.T) {
	withConsent := func(r registry.Registration, v, ch string) registry.Registration {
		r.ConsentVersion, r.ConsentChannel = v, ch
		return r
	}
	runSuite(t, []suiteCase{
		{"ok/record-withdraw-again", func(t *testing.T, e *env) {
			t0 := e.clock.Now()
			if _, _, err := e.db.Register(ctx, withConsent(card(gino, "g1"), "2026-01", registry.ChannelWeb)); err != nil {
				t.Fatal(err)
			}
			cs, err := e.db.Consents(ctx, gino)
			if err != nil || len(cs) != 1 {
				t.Fatalf("Consents = %+v, %v; want one", cs, err)
			}
			if c := cs[0]; c.Version != "2026-01" || c.Channel != registry.ChannelWeb || !c.GivenAt.Equal(us(t0)) || c.Withdrawn() {
				t.Fatalf("consent = %+v, want version 2026-01, channel web, given at %s, not withdrawn", c, us(t0))
			}
			if _, _, err := e.db.AuthorizeLogin(ctx, gino, fp("g1")); err != nil {
				t.Fatalf("login with consent: %v", err)
			}
			e.clock.Advance(time.Hour)
			if n, err := e.db.WithdrawConsent(ctx, gino, registry.ChannelWeb); err != nil || n != 1 {
				t.Fatalf("WithdrawConsent = %d, %v; want 1", n, err)
			}
			if _, err := e.db.WithdrawConsent(ctx, gino, registry.ChannelWeb); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("second withdrawal: %v, want ErrNotFound", err)
			}
			cs, _ = e.db.Consents(ctx, gino)
			if len(cs) != 1 || !cs[0].WithdrawnAt.Equal(us(e.clock.Now())) || cs[0].WithdrawnChannel != registry.ChannelWeb {
				t.Fatalf("after withdrawal: %+v; want the row kept with its withdrawal time and channel", cs)
			}
			if _, _, err := e.db.AuthorizeLogin(ctx, gino, fp("g1")); !errors.Is(err, registry.ErrNotRegistered) {
				t.Fatalf("AuthorizeLogin after withdrawal: %v, want ErrNotRegistered", err)
			}
			if _, err := e.db.Authorize(ctx, gino, fp("g1")); !errors.Is(err, registry.ErrNotRegistered) {
				t.Fatalf("Authorize after withdrawal: %v, want ErrNotRegistered", err)
			}
			// Registering the same card again gives consent again.
			e.clock.Advance(time.Hour)
			if _, _, err := e.db.Register(ctx, withConsent(card(gino, "g1"), "2026-02", registry.ChannelWeb)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.db.AuthorizeLogin(ctx, gino, fp("g1")); err != nil {
				t.Fatalf("login after consenting again: %v", err)
			}
			cs, _ = e.db.Consents(ctx, gino)
			if len(cs) != 2 || cs[1].Version != "2026-02" || cs[1].Withdrawn() || !cs[0].Withdrawn() {
				t.Fatalf("consents = %+v; want the withdrawn one and a new one", cs)
			}
		}},
		{"ok/legacy-no-consent-logs-in-until-withdrawn", func(t *testing.T, e *env) {
			if _, _, err := e.db.Register(ctx, card(anna, "a1")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.db.AuthorizeLogin(ctx, anna, fp("a1")); err != nil {
				t.Fatalf("a card registered without a consent record: %v", err)
			}
			t0 := e.clock.Now()
			e.clock.Advance(time.Hour)
			if n, err := e.db.WithdrawConsent(ctx, anna, registry.ChannelAdminAPI); err != nil || n != 1 {
				t.Fatalf("WithdrawConsent of a legacy registration = %d, %v; want 1", n, err)
			}
			cs, _ := e.db.Consents(ctx, anna)
			if len(cs) != 1 || cs[0].Version != "" || !cs[0].GivenAt.Equal(us(t0)) || !cs[0].WithdrawnAt.Equal(us(e.clock.Now())) || cs[0].WithdrawnChannel != registry.ChannelAdminAPI {
				t.Fatalf("legacy withdrawal recorded as %+v", cs)
			}
			if _, _, err := e.db.AuthorizeLogin(ctx, anna, fp("a1")); !errors.Is(err, registry.ErrNotRegistered) {
				t.Fatalf("login after the legacy withdrawal: %v, want ErrNotRegistered", err)
			}
			if _, err := e.db.WithdrawConsent(ctx, anna, registry.ChannelAdminAPI); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("second withdrawal: %v, want ErrNotFound", err)
			}
			if _, err := e.db.WithdrawConsent(ctx, laura, registry.ChannelWeb); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("withdrawal of a citizen without cards: %v, want ErrNotFound", err)
			}
		}},
		{"ok/remove-card", func(t *testing.T, e *env) {
			old, _, _ := e.db.Register(ctx, withConsent(card(gino, "g1"), "1", registry.ChannelWeb))
			cur, replaced, _ := e.db.Register(ctx, withConsent(card(gino, "g2"), "1", registry.ChannelWeb))
			if replaced == nil || replaced.ID != old.ID {
				t.Fatalf("replaced = %+v, want card %d", replaced, old.ID)
			}
			other, _, _ := e.db.Register(ctx, withConsent(card(anna, "a1"), "1", registry.ChannelWeb))
			if _, err := e.db.RemoveCard(ctx, gino, other.ID); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("removing another citizen's card: %v, want ErrNotFound", err)
			}
			r, err := e.db.RemoveCard(ctx, gino, cur.ID)
			if err != nil || r.Status != registry.StatusRevoked || r.Fingerprint != fp("g2") {
				t.Fatalf("RemoveCard = %+v, %v", r, err)
			}
			if _, err := e.db.RemoveCard(ctx, gino, cur.ID); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("removing it twice: %v, want ErrNotFound", err)
			}
			if _, _, err := e.db.AuthorizeLogin(ctx, gino, fp("g2")); !errors.Is(err, registry.ErrRevoked) {
				t.Fatalf("login with the removed card: %v, want ErrRevoked", err)
			}
		}},
		{"bad/consent-fields", func(t *testing.T, e *env) {
			for _, c := range []registry.Registration{
				withConsent(card(gino, "g1"), "1", ""),
				withConsent(card(gino, "g1"), "", registry.ChannelWeb),
				withConsent(card(gino, "g1"), "v\n1", registry.ChannelWeb),
			} {
				if _, _, err := e.db.Register(ctx, c); err == nil {
					t.Fatalf("Register with consent %q/%q accepted", c.ConsentVersion, c.ConsentChannel)
				}
			}
			if _, err := e.db.WithdrawConsent(ctx, gino, ""); err == nil {
				t.Fatal("a withdrawal without a channel accepted")
			}
		}},
		{"ok/audit-offset", func(t *testing.T, e *env) {
			for range 5 {
				e.clock.Advance(time.Second)
				if err := e.db.AppendAudit(ctx, registry.Event{Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess, FiscalCode: gino}); err != nil {
					t.Fatal(err)
				}
			}
			all, _ := e.db.QueryAudit(ctx, registry.AuditQuery{FiscalCode: gino})
			page, err := e.db.QueryAudit(ctx, registry.AuditQuery{FiscalCode: gino, Limit: 2, Offset: 2})
			if err != nil || len(all) != 5 || len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
				t.Fatalf("page 2 of 2 = %+v (%v), of %d", page, err, len(all))
			}
		}},
	})
}
