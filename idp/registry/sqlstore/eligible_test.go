package sqlstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

func TestAllowlist(t *testing.T) {
	runSuite(t, []suiteCase{
		{"ok/import-update-replace-all", func(t *testing.T, e *env) {
			res, err := e.db.ImportEligible(ctx, []registry.Eligible{
				{FiscalCode: strings.ToLower(mario), GivenName: "Mario", FamilyName: "Rossi"},
				{FiscalCode: laura, GivenName: "Laura", FamilyName: "Bianchi", Note: "esenzione E01"},
				{FiscalCode: gino},
			}, false)
			if err != nil || res != (registry.ImportResult{Inserted: 3}) {
				t.Fatalf("first import = %+v, %v", res, err)
			}
			for cf, want := range map[string]bool{mario: true, strings.ToLower(laura): true, gino: true, anna: false} {
				if got, err := e.db.IsEligible(ctx, cf); err != nil || got != want {
					t.Errorf("IsEligible(%s) = %v, %v; want %v", cf, got, err, want)
				}
			}

			res, err = e.db.ImportEligible(ctx, []registry.Eligible{
				{FiscalCode: mario, GivenName: "Mario", FamilyName: "Rossi"},
				{FiscalCode: laura, GivenName: "Laura", FamilyName: "Bianchi", Note: "esenzione E02"},
				{FiscalCode: anna},
			}, false)
			if err != nil || res != (registry.ImportResult{Inserted: 1, Updated: 1, Unchanged: 1}) {
				t.Fatalf("second import = %+v, %v", res, err)
			}
			if n, _ := e.db.CountEligible(ctx); n != 4 {
				t.Errorf("CountEligible = %d, want 4", n)
			}

			res, err = e.db.ImportEligible(ctx, []registry.Eligible{{FiscalCode: mario, GivenName: "Mario", FamilyName: "Rossi"}}, true)
			if err != nil || res != (registry.ImportResult{Unchanged: 1, Removed: 3}) {
				t.Fatalf("replace-all import = %+v, %v", res, err)
			}
			for cf, want := range map[string]bool{mario: true, laura: false, gino: false, anna: false} {
				if got, _ := e.db.IsEligible(ctx, cf); got != want {
					t.Errorf("after replace-all IsEligible(%s) = %v, want %v", cf, got, want)
				}
			}
		}},
		{"fail/bad-entries-write-nothing", func(t *testing.T, e *env) {
			_, err := e.db.ImportEligible(ctx, []registry.Eligible{
				{FiscalCode: mario},
				{FiscalCode: bad},
				{FiscalCode: " " + mario},
				{FiscalCode: "XYZ"},
			}, true)
			if !errors.Is(err, x509cns.ErrFiscalCodeCheck) || !errors.Is(err, registry.ErrDuplicate) || !errors.Is(err, x509cns.ErrFiscalCodeSyntax) {
				t.Errorf("ImportEligible: %v; want check, duplicate and syntax errors", err)
			}
			for _, want := range []string{"entry 2", "entry 3", "entry 4"} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v does not name %q", err, want)
				}
			}
			if ok, _ := e.db.IsEligible(ctx, mario); ok {
				t.Error("a failed import wrote a row")
			}
		}},
		{"ok/csv-to-import", func(t *testing.T, e *env) {
			list, err := ParseEligibleCSV(strings.NewReader("Codice_Fiscale;Cognome;Nome\n" + laura + ";Bianchi;Laura\n"))
			if err != nil {
				t.Fatal(err)
			}
			if res, err := e.db.ImportEligible(ctx, list, true); err != nil || res.Inserted != 1 {
				t.Fatalf("ImportEligible = %+v, %v", res, err)
			}
			if ok, _ := e.db.IsEligible(ctx, laura); !ok {
				t.Error("imported citizen not eligible")
			}
		}},
	})
}
