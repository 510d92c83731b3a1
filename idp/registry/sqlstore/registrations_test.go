package sqlstore

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

func TestRegistrations(t *testing.T) {
	runSuite(t, []suiteCase{
		{"ok/register-authorize", func(t *testing.T, e *env) {
			in := card(strings.ToLower(mario), "a")
			in.Fingerprint = strings.ToUpper(in.Fingerprint)
			reg, replaced, err := e.db.Register(ctx, in)
			if err != nil || replaced != nil {
				t.Fatalf("Register = %v, %v, %v", reg, replaced, err)
			}
			want := card(mario, "a")
			want.ID, want.Status, want.RegisteredAt = reg.ID, registry.StatusActive, us(e.clock.Now())
			if *reg != want {
				t.Errorf("Register =\n %+v\nwant\n %+v", *reg, want)
			}
			got, err := e.db.Authorize(ctx, mario, fp("a"))
			if err != nil || *got != want {
				t.Errorf("Authorize = %+v, %v; want %+v", got, err, want)
			}
			got, err = e.db.Get(ctx, mario)
			if err != nil || *got != want {
				t.Errorf("Get = %+v, %v; want %+v", got, err, want)
			}
		}},
		{"fail/unregistered", func(t *testing.T, e *env) {
			if _, err := e.db.Authorize(ctx, mario, fp("a")); !errors.Is(err, registry.ErrNotRegistered) {
				t.Errorf("Authorize: %v, want registry.ErrNotRegistered", err)
			}
			if _, err := e.db.Get(ctx, mario); !errors.Is(err, registry.ErrNotRegistered) {
				t.Errorf("Get: %v, want registry.ErrNotRegistered", err)
			}
			if err := e.db.RecordLogin(ctx, fp("a"), e.clock.Now()); !errors.Is(err, registry.ErrNotRegistered) {
				t.Errorf("RecordLogin: %v, want registry.ErrNotRegistered", err)
			}
			if _, err := e.db.Authorize(ctx, mario, "not-hex"); !errors.Is(err, registry.ErrNotRegistered) {
				t.Errorf("Authorize(bad fingerprint): %v, want registry.ErrNotRegistered", err)
			}
		}},
		{"fail/card-bound-to-another-fiscal-code", func(t *testing.T, e *env) {
			mustRegister(t, e, card(mario, "a"))
			if _, err := e.db.Authorize(ctx, laura, fp("a")); !errors.Is(err, registry.ErrNotRegistered) {
				t.Errorf("Authorize: %v, want registry.ErrNotRegistered", err)
			}
			if _, _, err := e.db.Register(ctx, card(laura, "a")); err == nil {
				t.Error("Register of another citizen's card succeeded")
			}
		}},
		{"fail/bad-input", func(t *testing.T, e *env) {
			for name, r := range map[string]registry.Registration{
				"bad check character": card(bad, "a"),
				"empty fiscal code":   card("", "a"),
				"short fingerprint":   {FiscalCode: mario, Fingerprint: "abcd"},
				"non-hex fingerprint": {FiscalCode: mario, Fingerprint: strings.Repeat("g", 64)},
			} {
				if _, _, err := e.db.Register(ctx, r); err == nil {
					t.Errorf("%s: Register succeeded", name)
				}
			}
			if list, _ := e.db.List(ctx, registry.ListFilter{}); len(list) != 0 {
				t.Errorf("List = %d rows, want 0", len(list))
			}
		}},
		{"ok/reregister-same-card-idempotent", func(t *testing.T, e *env) {
			first := mustRegister(t, e, card(mario, "a"))
			e.clock.Advance(time.Hour)
			again, replaced, err := e.db.Register(ctx, card(mario, "a"))
			if err != nil || replaced != nil || *again != *first {
				t.Errorf("Register again = %+v, %v, %v; want %+v", again, replaced, err, first)
			}
			if list, _ := e.db.List(ctx, registry.ListFilter{}); len(list) != 1 {
				t.Errorf("List = %d rows, want 1", len(list))
			}
		}},
		{"ok/new-card-replaces-old", func(t *testing.T, e *env) {
			old := mustRegister(t, e, card(mario, "old"))
			e.clock.Advance(time.Hour)
			reg, replaced, err := e.db.Register(ctx, card(mario, "new"))
			if err != nil {
				t.Fatal(err)
			}
			if replaced == nil || replaced.ID != old.ID || replaced.Status != registry.StatusReplaced || !replaced.ReplacedAt.Equal(us(e.clock.Now())) {
				t.Errorf("replaced = %+v, want row %d replaced now", replaced, old.ID)
			}
			if _, err := e.db.Authorize(ctx, mario, fp("old")); !errors.Is(err, registry.ErrReplaced) {
				t.Errorf("Authorize(old): %v, want registry.ErrReplaced", err)
			}
			if got, err := e.db.Authorize(ctx, mario, fp("new")); err != nil || got.ID != reg.ID {
				t.Errorf("Authorize(new) = %+v, %v", got, err)
			}
			if got, err := e.db.Get(ctx, mario); err != nil || got.Fingerprint != fp("new") {
				t.Errorf("Get = %+v, %v, want the new card", got, err)
			}
			if _, _, err := e.db.Register(ctx, card(mario, "old")); !errors.Is(err, registry.ErrReplaced) {
				t.Errorf("Register(old) again: %v, want registry.ErrReplaced", err)
			}
			if list, _ := e.db.List(ctx, registry.ListFilter{Status: registry.StatusReplaced}); len(list) != 1 || list[0].ID != old.ID {
				t.Errorf("List(replaced) = %+v", list)
			}
		}},
		{"ok/list-by-issuer-and-serial", func(t *testing.T, e *env) {
			mustRegister(t, e, card(mario, "old"))
			mustRegister(t, e, card(mario, "new")) // replaces old: both rows stay
			want := card(mario, "old")
			list, err := e.db.List(ctx, registry.ListFilter{Issuer: want.Issuer, Serial: want.Serial})
			if err != nil || len(list) != 1 || list[0].Fingerprint != fp("old") {
				t.Errorf("List(issuer, serial) = %+v, %v; want the old card only", list, err)
			}
			if list, _ := e.db.List(ctx, registry.ListFilter{Issuer: "Another CA", Serial: want.Serial}); len(list) != 0 {
				t.Errorf("serial under another issuer matched: %+v", list)
			}
		}},
		{"ok/revoke", func(t *testing.T, e *env) {
			mustRegister(t, e, card(mario, "old"))
			mustRegister(t, e, card(mario, "new"))
			mustRegister(t, e, card(laura, "l"))
			e.clock.Advance(time.Minute)
			n, err := e.db.Revoke(ctx, strings.ToLower(mario))
			if err != nil || n != 2 {
				t.Fatalf("Revoke = %d, %v; want 2", n, err)
			}
			for _, label := range []string{"old", "new"} {
				if _, err := e.db.Authorize(ctx, mario, fp(label)); !errors.Is(err, registry.ErrRevoked) {
					t.Errorf("Authorize(%s): %v, want registry.ErrRevoked", label, err)
				}
			}
			if _, _, err := e.db.Register(ctx, card(mario, "new")); !errors.Is(err, registry.ErrRevoked) {
				t.Errorf("Register(revoked card): %v, want registry.ErrRevoked", err)
			}
			if _, err := e.db.Revoke(ctx, mario); !errors.Is(err, registry.ErrNotRegistered) {
				t.Errorf("Revoke again: %v, want registry.ErrNotRegistered", err)
			}
			if _, err := e.db.Authorize(ctx, laura, fp("l")); err != nil {
				t.Errorf("another citizen's card: %v", err)
			}
			// A different card may be registered after a revocation.
			if _, replaced, err := e.db.Register(ctx, card(mario, "third")); err != nil || replaced != nil {
				t.Errorf("Register(third) = %v, %v", replaced, err)
			}
			list, _ := e.db.List(ctx, registry.ListFilter{Status: registry.StatusRevoked})
			if len(list) != 2 || !list[0].RevokedAt.Equal(us(e.clock.Now())) {
				t.Errorf("List(revoked) = %+v", list)
			}
		}},
		{"ok/revoke-card", func(t *testing.T, e *env) {
			mustRegister(t, e, card(mario, "old"))
			mustRegister(t, e, card(mario, "new"))
			n, err := e.db.RevokeCard(ctx, strings.ToUpper(fp("new")))
			if err != nil || n != 1 {
				t.Fatalf("RevokeCard = %d, %v; want 1", n, err)
			}
			if _, err := e.db.Authorize(ctx, mario, fp("new")); !errors.Is(err, registry.ErrRevoked) {
				t.Errorf("Authorize(revoked card): %v, want registry.ErrRevoked", err)
			}
			if _, err := e.db.Authorize(ctx, mario, fp("old")); !errors.Is(err, registry.ErrReplaced) {
				t.Errorf("Authorize(replaced card): %v, want registry.ErrReplaced", err)
			}
			if _, err := e.db.RevokeCard(ctx, fp("new")); !errors.Is(err, registry.ErrNotRegistered) {
				t.Errorf("RevokeCard again: %v, want registry.ErrNotRegistered", err)
			}
			if _, err := e.db.RevokeCard(ctx, fp("never")); !errors.Is(err, registry.ErrNotRegistered) {
				t.Errorf("RevokeCard(unknown): %v, want registry.ErrNotRegistered", err)
			}
		}},
		{"ok/record-login", func(t *testing.T, e *env) {
			mustRegister(t, e, card(mario, "a"))
			at := e.clock.Now().Add(90 * time.Second)
			if err := e.db.RecordLogin(ctx, fp("a"), at); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.db.Get(ctx, mario); !got.LastLoginAt.Equal(us(at)) || got.LastLoginAt.Location() != time.UTC {
				t.Errorf("LastLoginAt = %v, want %v UTC", got.LastLoginAt, us(at))
			}
		}},
		{"ok/list-filter-page", func(t *testing.T, e *env) {
			for i, cf := range []string{mario, laura, gino, anna} {
				mustRegister(t, e, card(cf, fmt.Sprint(i)))
			}
			mustRegister(t, e, card(mario, "m2"))
			for name, c := range map[string]struct {
				f    registry.ListFilter
				want []string // fiscal codes in order
			}{
				"all":           {registry.ListFilter{}, []string{mario, laura, gino, anna, mario}},
				"active":        {registry.ListFilter{Status: registry.StatusActive}, []string{laura, gino, anna, mario}},
				"fiscal code":   {registry.ListFilter{FiscalCode: mario}, []string{mario, mario}},
				"limit":         {registry.ListFilter{Limit: 2}, []string{mario, laura}},
				"limit+offset":  {registry.ListFilter{Limit: 2, Offset: 2}, []string{gino, anna}},
				"offset only":   {registry.ListFilter{Offset: 3}, []string{anna, mario}},
				"active+offset": {registry.ListFilter{Status: registry.StatusActive, Offset: 1, Limit: 1}, []string{gino}},
			} {
				list, err := e.db.List(ctx, c.f)
				var got []string
				for _, r := range list {
					got = append(got, r.FiscalCode)
				}
				if err != nil || strings.Join(got, ",") != strings.Join(c.want, ",") {
					t.Errorf("%s: List = %v, %v; want %v", name, got, err, c.want)
				}
			}
			if _, err := e.db.List(ctx, registry.ListFilter{Status: "Active"}); err == nil {
				t.Error("List with an unknown status succeeded")
			}
		}},
		{"ok/concurrent-register-one-active", func(t *testing.T, e *env) {
			var wg sync.WaitGroup
			errs := make([]error, 10)
			for i := range 10 {
				wg.Go(func() {
					_, _, errs[i] = e.db.Register(ctx, card(mario, []string{"x", "y"}[i%2]))
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil && !errors.Is(err, registry.ErrReplaced) {
					t.Errorf("goroutine %d: %v", i, err)
				}
			}
			active, _ := e.db.List(ctx, registry.ListFilter{FiscalCode: mario, Status: registry.StatusActive})
			all, _ := e.db.List(ctx, registry.ListFilter{FiscalCode: mario})
			if len(active) != 1 || len(all) > 2 {
				t.Errorf("%d active rows, %d rows; want 1 active of at most 2", len(active), len(all))
			}
		}},
	})
}

func mustRegister(t *testing.T, e *env, r registry.Registration) *registry.Registration {
	t.Helper()
	reg, _, err := e.db.Register(ctx, r)
	if err != nil {
		t.Fatalf("Register(%v): %v", r, err)
	}
	return reg
}
