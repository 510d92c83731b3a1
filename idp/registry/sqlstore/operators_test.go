package sqlstore

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

func TestOperators(t *testing.T) {
	runSuite(t, []suiteCase{
		{"ok/crud-with-roles", func(t *testing.T, e *env) {
			created := us(e.clock.Now())
			if err := e.db.PutOperator(ctx, registry.Operator{FiscalCode: gino, Roles: []string{" asl-operator ", "cms-admin", "asl-operator"}, Organisation: "ASL Roma 1"}); err != nil {
				t.Fatal(err)
			}
			if err := e.db.PutOperator(ctx, registry.Operator{FiscalCode: anna, Roles: []string{"pharmacist"}}); err != nil {
				t.Fatal(err)
			}
			o, err := e.db.Operator(ctx, gino)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.Roles, []string{"asl-operator", "cms-admin"}) || o.Organisation != "ASL Roma 1" || !o.CreatedAt.Equal(created) {
				t.Errorf("Operator = %+v", o)
			}

			e.clock.Advance(time.Hour)
			if err := e.db.PutOperator(ctx, registry.Operator{FiscalCode: gino, Roles: []string{"cms-admin"}, Organisation: "ASL Roma 2"}); err != nil {
				t.Fatal(err)
			}
			o, _ = e.db.Operator(ctx, gino)
			if !slices.Equal(o.Roles, []string{"cms-admin"}) || o.Organisation != "ASL Roma 2" ||
				!o.CreatedAt.Equal(created) || !o.UpdatedAt.Equal(us(e.clock.Now())) {
				t.Errorf("after update Operator = %+v", o)
			}

			list, err := e.db.ListOperators(ctx)
			if err != nil || len(list) != 2 || list[0].FiscalCode != anna || list[1].FiscalCode != gino {
				t.Errorf("ListOperators = %+v, %v", list, err)
			}

			if err := e.db.DeleteOperator(ctx, gino); err != nil {
				t.Fatal(err)
			}
			if _, err := e.db.Operator(ctx, gino); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("Operator after delete: %v, want registry.ErrNotFound", err)
			}
			if err := e.db.DeleteOperator(ctx, gino); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("DeleteOperator again: %v, want registry.ErrNotFound", err)
			}
		}},
		{"ok/any-card", func(t *testing.T, e *env) {
			if err := e.db.PutOperator(ctx, registry.Operator{FiscalCode: gino, Roles: []string{"r"}}); err != nil {
				t.Fatal(err)
			}
			if o, err := e.db.Operator(ctx, gino); err != nil || o.AnyCard {
				t.Errorf("Operator = %+v, %v; want AnyCard false by default", o, err)
			}
			if err := e.db.PutOperator(ctx, registry.Operator{FiscalCode: gino, Roles: []string{"r"}, AnyCard: true}); err != nil {
				t.Fatal(err)
			}
			if o, err := e.db.Operator(ctx, gino); err != nil || !o.AnyCard {
				t.Errorf("Operator = %+v, %v; want AnyCard true", o, err)
			}
			if list, err := e.db.ListOperators(ctx); err != nil || len(list) != 1 || !list[0].AnyCard {
				t.Errorf("ListOperators = %+v, %v", list, err)
			}
		}},
		{"ok/no-roles", func(t *testing.T, e *env) {
			if err := e.db.PutOperator(ctx, registry.Operator{FiscalCode: gino}); err != nil {
				t.Fatal(err)
			}
			if o, err := e.db.Operator(ctx, gino); err != nil || o.Roles == nil || len(o.Roles) != 0 {
				t.Errorf("Operator = %+v, %v; want empty roles", o, err)
			}
		}},
		{"fail/unknown-operator", func(t *testing.T, e *env) {
			if _, err := e.db.Operator(ctx, mario); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("Operator: %v, want registry.ErrNotFound", err)
			}
		}},
		{"fail/bad-input", func(t *testing.T, e *env) {
			if err := e.db.PutOperator(ctx, registry.Operator{FiscalCode: bad, Roles: []string{"x"}}); err == nil {
				t.Error("PutOperator with a bad fiscal code succeeded")
			}
			if err := e.db.PutOperator(ctx, registry.Operator{FiscalCode: gino, Roles: []string{"x", " "}}); err == nil {
				t.Error("PutOperator with an empty role succeeded")
			}
			if list, _ := e.db.ListOperators(ctx); len(list) != 0 {
				t.Errorf("ListOperators = %+v, want none", list)
			}
		}},
	})
}

func TestAuthorizeLogin(t *testing.T) {
	runSuite(t, []suiteCase{
		{"ok/citizen-and-operator", func(t *testing.T, e *env) {
			for _, r := range []registry.Registration{card(mario, "m1"), card(laura, "l1")} {
				if _, _, err := e.db.Register(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.db.PutOperator(ctx, registry.Operator{FiscalCode: laura, Roles: []string{"operatore_asl"}, Organisation: "ASL 1", AnyCard: true}); err != nil {
				t.Fatal(err)
			}
			reg, op, err := e.db.AuthorizeLogin(ctx, mario, fp("m1"))
			if err != nil || reg.FiscalCode != mario || op != nil {
				t.Fatalf("citizen: %+v %+v %v", reg, op, err)
			}
			reg, op, err = e.db.AuthorizeLogin(ctx, laura, fp("l1"))
			if err != nil || reg.FiscalCode != laura || op == nil || !op.AnyCard || op.Organisation != "ASL 1" ||
				len(op.Roles) != 1 || op.Roles[0] != "operatore_asl" || op.CreatedAt.IsZero() {
				t.Fatalf("operator: %+v %+v %v", reg, op, err)
			}
		}},
		{"fail/other-fiscal-code", func(t *testing.T, e *env) {
			if _, _, err := e.db.Register(ctx, card(mario, "m1")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.db.AuthorizeLogin(ctx, laura, fp("m1")); !errors.Is(err, registry.ErrNotRegistered) {
				t.Fatalf("card of another fiscal code: %v", err)
			}
			if _, _, err := e.db.AuthorizeLogin(ctx, mario, fp("none")); !errors.Is(err, registry.ErrNotRegistered) {
				t.Fatalf("unknown card: %v", err)
			}
			if _, err := e.db.Revoke(ctx, mario); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.db.AuthorizeLogin(ctx, mario, fp("m1")); !errors.Is(err, registry.ErrRevoked) {
				t.Fatalf("revoked card: %v", err)
			}
		}},
	})
}
