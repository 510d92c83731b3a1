package cnstest_test

import (
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

func TestFiscalCode(t *testing.T) {
	seen := map[string]int{}
	var omocodia, female int
	for i := range 2000 {
		cf := cnstest.FiscalCode(i)
		if err := x509cns.ValidateFiscalCode(cf); err != nil {
			t.Fatalf("FiscalCode(%d) = %q: %v", i, cf, err)
		}
		if j, dup := seen[cf]; dup {
			t.Fatalf("FiscalCode(%d) = FiscalCode(%d) = %q", i, j, cf)
		}
		seen[cf] = i
		if strings.ContainsAny(cf[12:15], "LMNPQRSTUV") {
			omocodia++
		}
		if day := cf[9:11]; day[0] >= '4' && day[0] <= '7' || day[0] == 'Q' || day[0] == 'R' || day[0] == 'S' || day[0] == 'T' {
			female++
		}
		if cnstest.FiscalCode(i) != cf {
			t.Fatal("FiscalCode is not deterministic")
		}
	}
	if omocodia < 500 || female < 900 {
		t.Errorf("too uniform: %d with omocodia, %d women in 2000", omocodia, female)
	}
	if got := cnstest.FiscalCode(1 << 40); x509cns.ValidateFiscalCode(got) != nil {
		t.Errorf("large index gives %q", got)
	}
	bad := cnstest.WrongCheckChar(cnstest.FiscalCode(7))
	if err := x509cns.ValidateFiscalCode(bad); err == nil || !strings.Contains(err.Error(), "check") {
		t.Errorf("WrongCheckChar: %v", err)
	}
}

func TestCardID(t *testing.T) {
	for _, typ := range []byte{5, 6, 7, 8, 9, '6', '8'} {
		for i := range 100 {
			id := cnstest.CardID(typ, i)
			if err := x509cns.ValidateCardID(id); err != nil {
				t.Fatalf("CardID(%d, %d) = %q: %v", typ, i, id, err)
			}
			want := typ
			if want <= 9 {
				want += '0'
			}
			if id[0] != want {
				t.Fatalf("CardID(%d, %d) = %q", typ, i, id)
			}
		}
	}
	if got := x509cns.CardTypeOf(cnstest.CardID(8, 1)); got != x509cns.CardTypeOperator {
		t.Errorf("type %v", got)
	}
}

func TestCardHash(t *testing.T) {
	for i := range 50 {
		h := cnstest.CardHash(cnstest.FiscalCode(i), cnstest.CardID(6, i))
		if len(h) != 28 || !strings.Contains(h, "/") || !strings.Contains(h, "+") || strings.Contains(h, ".") {
			t.Fatalf("CardHash = %q", h)
		}
	}
}
