package sqlstore

import (
	"context"
	"testing"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// BenchmarkAuthorizeLogin measures a login's registration lookup on each
// backend: a registered card whose fiscal code is also an operator's. On
// SQLite "sqlite" is the compiled lookup (lookup_sqlite.go) and
// "sqlite-database-sql" the database/sql statement it replaced, in the same run.
func BenchmarkAuthorizeLogin(b *testing.B) {
	plain := backends[0]
	plain.name = "sqlite-database-sql"
	for _, be := range append([]backend{plain}, backends...) {
		b.Run(be.name, func(b *testing.B) {
			d, err := Open(context.Background(), be.driver, be.dsn(b))
			if err != nil {
				b.Fatalf("Open(%s): %v", be.driver, err)
			}
			defer d.Close()
			if be.name == "sqlite-database-sql" {
				d.lookup.close()
				d.lookup = nil // AuthorizeLogin falls back to the database/sql query
			}
			if _, _, err := d.Register(ctx, card(mario, "a")); err != nil {
				b.Fatal(err)
			}
			if err := d.PutOperator(ctx, registry.Operator{FiscalCode: mario, Roles: []string{"admin"}}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, op, err := d.AuthorizeLogin(ctx, mario, fp("a")); err != nil || op == nil {
					b.Fatalf("AuthorizeLogin = %v, %v", op, err)
				}
			}
		})
	}
}
