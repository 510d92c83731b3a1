package registry

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
)

const mario = "RSSMRA80A01H501U"

func TestLogValueMasksFiscalCode(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x",
		"event", Event{Kind: KindLogin, Outcome: OutcomeSuccess, FiscalCode: mario},
		"registration", Registration{FiscalCode: mario, GivenName: "Mario", FamilyName: "Rossi"},
		"operator", Operator{FiscalCode: mario},
		"eligible", Eligible{FiscalCode: mario, GivenName: "Mario"})
	out := buf.String()
	if strings.Contains(out, mario) || strings.Contains(out, "Rossi") || strings.Count(out, "RSS************U") != 4 {
		t.Errorf("log = %s", out)
	}
}

// The types mask by the rule of x509cns, which this package may not import
// outside its tests.
func TestMaskAgreesWithX509cns(t *testing.T) {
	for _, cf := range []string{"", "A", "ABCD", "ABCDE", mario, "rssmra80a01h501u", "RSSMRA80A01H501UX", " RSSMRA80A01H501U "} {
		if got, want := maskFiscalCode(cf), x509cns.MaskFiscalCode(cf); got != want {
			t.Errorf("maskFiscalCode(%q) = %q, x509cns.MaskFiscalCode = %q", cf, got, want)
		}
	}
}
