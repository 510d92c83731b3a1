package x509cns

import (
	"errors"
	"testing"
)

func TestValidateFiscalCode(t *testing.T) {
	tests := []struct {
		name string
		cf   string
		want error
	}{
		{"ok/man", "RSSMRA85T10A562S", nil},
		{"ok/another", "RSSMRA80A01H501U", nil},
		{"ok/woman-day-plus-40", "BNCLRA75M41F205Z", nil}, // check char computed below
		{"ok/omocodia", "RSSMRA85T10A56NH", nil},
		{"ok/omocodia-all-digits", "RSSMRAURTMLARNNA", nil},
		{"fail/check-char", "RSSMRA85T10A562T", ErrFiscalCodeCheck},
		{"fail/short", "RSSMRA85T10A562", ErrFiscalCodeSyntax},
		{"fail/lower-case", "rssmra85t10a562s", ErrFiscalCodeSyntax},
		{"fail/bad-month", "RSSMRA85F10A562S", ErrFiscalCodeSyntax},
		{"fail/day-32", "RSSMRA85T32A562S", ErrFiscalCodeSyntax},
		{"fail/day-00", "RSSMRA85T00A562S", ErrFiscalCodeSyntax},
		{"fail/day-72", "RSSMRA85T72A562S", ErrFiscalCodeSyntax},
		{"fail/digit-in-name", "R5SMRA85T10A562S", ErrFiscalCodeSyntax},
		{"fail/letter-not-omocodia", "RSSMRA8AT10A562S", ErrFiscalCodeSyntax},
		{"fail/numeric-provisional", "12345678901", ErrFiscalCodeSyntax},
		{"fail/empty", "", ErrFiscalCodeSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := tt.cf
			if tt.want == nil && len(cf) == 16 {
				// Fix up the check character of synthetic cases so the table
				// states intent (syntax) rather than arithmetic.
				c, err := FiscalCodeCheckChar(cf[:15])
				if err != nil {
					t.Fatal(err)
				}
				cf = cf[:15] + string(c)
			}
			err := ValidateFiscalCode(cf)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("ValidateFiscalCode(%q) = %v, want %v", cf, err, tt.want)
			}
		})
	}
}

// TestFiscalCodeCheckCharKnown pins the check character against codes
// computed independently of this package.
func TestFiscalCodeCheckCharKnown(t *testing.T) {
	for _, cf := range []string{"RSSMRA85T10A562S", "RSSMRA80A01H501U", "MRTMTT25D09F205Z"} {
		c, err := FiscalCodeCheckChar(cf[:15])
		if err != nil || c != cf[15] {
			t.Errorf("check char of %s = %c, %v; want %c", cf[:15], c, err, cf[15])
		}
	}
}

func TestValidateCardID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want error
		typ  CardType
	}{
		{"ok/regional", "6" + "00000000000000" + "0", nil, CardTypeRegional},
		{"ok/national", "5" + "12345678901234" + "0", nil, CardTypeNational},
		{"ok/other", "7" + "00000000012345" + "0", nil, CardTypeOther},
		{"ok/operator-8", "8" + "00000000000042" + "0", nil, CardTypeOperator},
		{"ok/operator-9", "9" + "00000000000042" + "0", nil, CardTypeOperator},
		{"fail/luhn", "", ErrCardIDCheck, ""},
		{"fail/short", "800000000004", ErrCardIDSyntax, ""},
		{"fail/letters", "80000000000A0420", ErrCardIDSyntax, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.id
			switch {
			case tt.want == nil:
				id = id[:15] + string(LuhnCheckDigit(id[:15]))
			case tt.want == ErrCardIDCheck:
				good := "800000000000042"
				bad := (LuhnCheckDigit(good)-'0'+1)%10 + '0'
				id = good + string(bad)
			}
			err := ValidateCardID(id)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("ValidateCardID(%q) = %v, want %v", id, err, tt.want)
			}
			if tt.typ != "" && CardTypeOf(id) != tt.typ {
				t.Fatalf("CardTypeOf(%q) = %s, want %s", id, CardTypeOf(id), tt.typ)
			}
		})
	}
}

func TestLuhnKnown(t *testing.T) {
	// Reference values from ISO/IEC 7812 examples.
	for payload, want := range map[string]byte{"7992739871": '3', "4111111111111111"[:15]: '1', "0": '0'} {
		if got := LuhnCheckDigit(payload); got != want {
			t.Errorf("LuhnCheckDigit(%s) = %c, want %c", payload, got, want)
		}
	}
}

func TestMaskFiscalCode(t *testing.T) {
	if got := MaskFiscalCode("RSSMRA85T10A562S"); got != "RSS************S" {
		t.Fatalf("got %q", got)
	}
	if got := MaskFiscalCode("AB"); got != "**" {
		t.Fatalf("got %q", got)
	}
}

// TestNormalizeFiscalCodeASCIIOnly: only ASCII letters change case, so
// no Unicode look-alike folds onto another person's fiscal code.
func TestNormalizeFiscalCodeASCIIOnly(t *testing.T) {
	for in, want := range map[string]string{
		" rssmra85t10a562s\t":    "RSSMRA85T10A562S",
		"RSSMRA85T10A562\u017f":  "RSSMRA85T10A562\u017f", // ſ is not S
		"\u0131RSSMRA85T10A562":  "\u0131RSSMRA85T10A562", // ı is not I
		"\u00a0RSSMRA85T10A562S": "\u00a0RSSMRA85T10A562S",
	} {
		got := NormalizeFiscalCode(in)
		if got != want {
			t.Errorf("NormalizeFiscalCode(%q) = %q, want %q", in, got, want)
		}
		if got != "RSSMRA85T10A562S" && ValidateFiscalCode(got) == nil {
			t.Errorf("%q normalised to a valid fiscal code %q", in, got)
		}
	}
}

func FuzzValidateFiscalCode(f *testing.F) {
	for _, s := range []string{"RSSMRA85T10A562S", "RSSMRAURTMLARNNH", "", "RSSMRA85T72A562S", "ÀÀÀÀÀÀ85T10A562S",
		"RSSMRA85T10A562\u017f", "\u0131SSMRA85T10A562S", "RSSMRA85T10A562\uff33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateFiscalCode(s)
		if err != nil {
			if !errors.Is(err, ErrFiscalCodeSyntax) && !errors.Is(err, ErrFiscalCodeCheck) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		// Anything accepted is 16 upper-case ASCII letters/digits with the right check char.
		if len(s) != 16 || !looksLikeFiscalCode(s) {
			t.Fatalf("accepted %q", s)
		}
		c, _ := FiscalCodeCheckChar(s[:15])
		if c != s[15] {
			t.Fatalf("accepted %q with wrong check char", s)
		}
	})
}
