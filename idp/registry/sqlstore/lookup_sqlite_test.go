package sqlstore

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
)

// openPair opens one SQLite file twice, as the server and the cnsgate CLI
// (or another replica) do: login reads on one, changes on the other.
func openPair(t *testing.T) (server, other *DB) {
	t.Helper()
	dsn := registrytest.SQLiteDSN(t)
	server, err := Open(ctx, DriverSQLite, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	if server.lookup == nil {
		t.Fatal("a file database with readers has no compiled login lookup")
	}
	other, err = Open(ctx, DriverSQLite, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return server, other
}

// TestSQLiteLookupSeesOtherWriters: the compiled lookup keeps no answer,
// only the query: a card revoked, a consent withdrawn, an operator's roles
// changed or removed by another process is seen by the very next login.
func TestSQLiteLookupSeesOtherWriters(t *testing.T) {
	for name, change := range map[string]struct {
		change func(t *testing.T, other *DB)
		check  func(reg *registry.Registration, op *registry.Operator, err error) bool
	}{
		"revoked": {func(t *testing.T, o *DB) { mustN(t)(o.Revoke(ctx, laura)) },
			func(_ *registry.Registration, _ *registry.Operator, err error) bool {
				return errors.Is(err, registry.ErrRevoked)
			}},
		"card-revoked": {func(t *testing.T, o *DB) { mustN(t)(o.RevokeCard(ctx, fp("l1"))) },
			func(_ *registry.Registration, _ *registry.Operator, err error) bool {
				return errors.Is(err, registry.ErrRevoked)
			}},
		"consent-withdrawn": {func(t *testing.T, o *DB) { mustN(t)(o.WithdrawConsent(ctx, laura, "test")) },
			func(_ *registry.Registration, _ *registry.Operator, err error) bool {
				return errors.Is(err, registry.ErrNotRegistered)
			}},
		"replaced": {func(t *testing.T, o *DB) {
			if _, _, err := o.Register(ctx, card(laura, "l2")); err != nil {
				t.Fatal(err)
			}
		}, func(_ *registry.Registration, _ *registry.Operator, err error) bool {
			return errors.Is(err, registry.ErrReplaced)
		}},
		"roles-changed": {func(t *testing.T, o *DB) {
			if err := o.UpdateOperator(ctx, registry.Operator{FiscalCode: laura, Roles: []string{"viewer"}}, "test"); err != nil {
				t.Fatal(err)
			}
		}, func(_ *registry.Registration, op *registry.Operator, err error) bool {
			return err == nil && op != nil && reflect.DeepEqual(op.Roles, []string{"viewer"})
		}},
		"operator-removed": {func(t *testing.T, o *DB) {
			if err := o.RemoveOperator(ctx, laura, "test"); err != nil {
				t.Fatal(err)
			}
		}, func(reg *registry.Registration, op *registry.Operator, err error) bool {
			return err == nil && reg != nil && op == nil
		}},
	} {
		t.Run(name, func(t *testing.T) {
			server, other := openPair(t)
			reg := card(laura, "l1")
			reg.ConsentVersion, reg.ConsentChannel = "v1", "test"
			if _, _, err := other.Register(ctx, reg); err != nil {
				t.Fatal(err)
			}
			if err := other.AddOperator(ctx, registry.Operator{FiscalCode: laura, Roles: []string{"operatore_asl"}}, "test"); err != nil {
				t.Fatal(err)
			}
			if _, op, err := server.AuthorizeLogin(ctx, laura, fp("l1")); err != nil || op == nil {
				t.Fatalf("before: %+v, %v", op, err)
			}
			change.change(t, other)
			if r, op, err := server.AuthorizeLogin(ctx, laura, fp("l1")); !change.check(r, op, err) {
				t.Fatalf("after the change by another process: %+v, %+v, %v", r, op, err)
			}
		})
	}
}

func mustN(t *testing.T) func(int, error) {
	return func(_ int, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestSQLiteLookupSameAnswers: the compiled lookup answers what
// Authorize and Operator answer, field for field, from many goroutines at
// once.
func TestSQLiteLookupSameAnswers(t *testing.T) {
	server, other := openPair(t)
	for _, r := range []registry.Registration{card(mario, "m1"), card(laura, "l1")} {
		if _, _, err := other.Register(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.AddOperator(ctx, registry.Operator{FiscalCode: laura, Roles: []string{"operatore_asl", "viewer"}, Organisation: "ASL 1", OrganisationName: "Azienda", AnyCard: true}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := other.RecordLogin(ctx, fp("l1"), other.now()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				for _, cf := range []string{mario, laura} {
					label := map[string]string{mario: "m1", laura: "l1"}[cf]
					reg, op, err := server.AuthorizeLogin(ctx, cf, fp(label))
					wantReg, err1 := other.Authorize(ctx, cf, fp(label))
					wantOp, err2 := other.Operator(ctx, cf)
					if errors.Is(err2, registry.ErrNotFound) {
						wantOp, err2 = nil, nil
					}
					if err != nil || err1 != nil || err2 != nil {
						t.Errorf("%s: %v / %v / %v", cf, err, err1, err2)
						return
					}
					if !reflect.DeepEqual(reg, wantReg) || !reflect.DeepEqual(op, wantOp) {
						t.Errorf("%s: AuthorizeLogin = %+v %+v, want %+v %+v", cf, reg, op, wantReg, wantOp)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestSQLiteLookupContextAndClose: a cancelled context and a closed
// registry are errors, never a crash or a wait.
func TestSQLiteLookupContextAndClose(t *testing.T) {
	server, other := openPair(t)
	if _, _, err := other.Register(ctx, card(mario, "m1")); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := server.AuthorizeLogin(cancelled, mario, fp("m1")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
	if _, _, err := server.AuthorizeLogin(ctx, mario, fp("m1")); err != nil {
		t.Errorf("after a cancelled lookup: %v", err)
	}
	server.Close()
	if _, _, err := server.AuthorizeLogin(ctx, mario, fp("m1")); err == nil {
		t.Error("lookup after Close succeeded")
	}
}
