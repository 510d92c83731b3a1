package sqlstore

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

func TestParseEligibleCSV(t *testing.T) {
	m, l, g := mario, laura, gino
	type want struct {
		rows  []registry.Eligible
		lines []int    // line numbers of the bad rows, in order
		errs  []string // substrings of the error
		is    []error
	}
	for _, c := range []struct {
		name string
		in   string
		want want
	}{
		{"ok/header-comma", "fiscal_code,given_name,family_name,note\n" + m + ",Mario,Rossi,E01\n" + l + ",Laura,Bianchi,\n",
			want{rows: []registry.Eligible{{FiscalCode: m, GivenName: "Mario", FamilyName: "Rossi", Note: "E01"}, {FiscalCode: l, GivenName: "Laura", FamilyName: "Bianchi"}}}},
		{"ok/no-header-semicolon", m + ";Mario;Rossi\n" + l + "\n",
			want{rows: []registry.Eligible{{FiscalCode: m, GivenName: "Mario", FamilyName: "Rossi"}, {FiscalCode: l}}}},
		{"ok/header-any-case-any-order-italian", "COGNOME;Nome;Codice Fiscale\r\nRossi;Mario;" + m + "\r\n",
			want{rows: []registry.Eligible{{FiscalCode: m, GivenName: "Mario", FamilyName: "Rossi"}}}},
		{"ok/bom-blank-lines-spreadsheet-rows", "\ufeff\n\nFiscal_Code;Note\n;;\n" + strings.ToLower(m) + " ; nota, con virgola \n   \n;\n" + g + ";;\n",
			want{rows: []registry.Eligible{{FiscalCode: m, Note: "nota, con virgola"}, {FiscalCode: g}}}},
		{"ok/quoted-separator", "fiscal_code,family_name,note\n" + m + ",\"Rossi, detto \"\"Bepi\"\"\",x\n",
			want{rows: []registry.Eligible{{FiscalCode: m, FamilyName: `Rossi, detto "Bepi"`, Note: "x"}}}},
		{"ok/single-column", m + "\n" + l,
			want{rows: []registry.Eligible{{FiscalCode: m}, {FiscalCode: l}}}},
		{"fail/bad-check-char", "fiscal_code\n" + m + "\n\n" + bad + "\n",
			want{lines: []int{4}, errs: []string{"line 4: fiscal code RSS************A", "check character"}, is: []error{x509cns.ErrFiscalCodeCheck}}},
		{"fail/several-bad-rows-together", m + ";Mario\nXYZ;Nobody\n" + bad + "\n;Nome senza codice\n" + l + ";a;b;c;d\n" + g + "\n",
			want{lines: []int{2, 3, 4, 5}, errs: []string{"4 bad row(s)", "line 2:", "line 3:", "line 4: fiscal code missing", "line 5: 5 fields"},
				is: []error{x509cns.ErrFiscalCodeSyntax, x509cns.ErrFiscalCodeCheck}}},
		{"fail/duplicate", m + "\n" + l + "\n" + strings.ToLower(m) + "\n",
			want{lines: []int{3}, errs: []string{"line 3:", "(line 1)"}, is: []error{registry.ErrDuplicate}}},
		{"fail/unknown-header-column", "fiscal_code;birthplace\n" + m + ";Roma\n",
			want{lines: []int{1}, errs: []string{`unknown column "birthplace"`}}},
		{"fail/bad-quote", m + ",\"Rossi\n",
			want{lines: []int{1}, errs: []string{"line 1:"}}},
		{"fail/empty", "\ufeff\n \n", want{errs: []string{"no rows"}}},
		{"fail/header-only", "fiscal_code;given_name\n", want{errs: []string{"no rows"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseEligibleCSV(strings.NewReader(c.in))
			if c.want.rows != nil {
				if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want.rows) {
					t.Fatalf("ParseEligibleCSV =\n %+v, %v\nwant\n %+v", got, err, c.want.rows)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseEligibleCSV = %+v, want an error", got)
			}
			for _, s := range c.want.errs {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			for _, target := range c.want.is {
				if !errors.Is(err, target) {
					t.Errorf("error %q is not %v", err, target)
				}
			}
			var ce *CSVError
			if c.want.lines == nil {
				return
			}
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *CSVError", err)
			}
			var lines []int
			for _, le := range ce.Lines {
				lines = append(lines, le.Line)
			}
			if fmt.Sprint(lines) != fmt.Sprint(c.want.lines) {
				t.Errorf("bad lines %v, want %v", lines, c.want.lines)
			}
		})
	}
}

func TestCSVErrorBounded(t *testing.T) {
	in := strings.Repeat("XYZ\n", maxReported+7)
	_, err := ParseEligibleCSV(strings.NewReader(in))
	var ce *CSVError
	if !errors.As(err, &ce) || len(ce.Lines) != maxReported+7 || !strings.Contains(err.Error(), "... and 7 more") {
		t.Errorf("error = %v", err)
	}
}

func FuzzParseEligibleCSV(f *testing.F) {
	f.Add("fiscal_code;given_name\n" + mario + ";Mario\n")
	f.Add("\ufeff" + mario + ",\"a,b\",c,d\n\n;;\n")
	f.Add("cf\n" + bad + "\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ParseEligibleCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if x509cns.ValidateFiscalCode(r.FiscalCode) != nil || seen[r.FiscalCode] {
				t.Fatalf("accepted bad or duplicate fiscal code %q", r.FiscalCode)
			}
			seen[r.FiscalCode] = true
		}
	})
}

// TestReadEligibleCSVKeepsGoodRows: the reading serve makes of
// registration.allowlist_file keeps the good rows beside the bad ones.
func TestReadEligibleCSVKeepsGoodRows(t *testing.T) {
	good, bad, err := ReadEligibleCSV(strings.NewReader("fiscal_code;nome\n" + mario + ";Mario\nRSSMRA85T10A562X;Bad\n" + laura + ";Laura\n\"unterminated;x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(good) != 2 || good[0].FiscalCode != mario || good[1].FiscalCode != laura {
		t.Fatalf("good rows: %+v, bad %v", good, bad)
	}
	if bad == nil || len(bad.Lines) != 2 || bad.Lines[0].Line != 3 || bad.Lines[1].Line != 5 {
		t.Fatalf("bad rows: %v", bad)
	}
	if _, err := ParseEligibleCSV(strings.NewReader("RSSMRA85T10A562S\nRSSMRA85T10A562X\n")); err == nil {
		t.Fatal("ParseEligibleCSV took a file with a bad row")
	}
	if _, _, err := ReadEligibleCSV(strings.NewReader("\n\n")); err == nil {
		t.Fatal("a file without rows was read")
	}
}
