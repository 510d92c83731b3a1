package x509cns

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
)

func TestParseCN(t *testing.T) {
	tests := []struct {
		name    string
		cn      string
		want    CNFields
		wantErr bool
	}{
		{"ok/plain", "RSSMRA85T10A562S/6000000000000000.abcdEFGHijklMNOPqrstUVWXyz0=",
			CNFields{"RSSMRA85T10A562S", "6000000000000000", "abcdEFGHijklMNOPqrstUVWXyz0="}, false},
		{"ok/hash-with-slash-and-plus", "RSSMRA85T10A562S/6000000000000000.ab/cd+EF/gh+ijklmnopqrstuvw=",
			CNFields{"RSSMRA85T10A562S", "6000000000000000", "ab/cd+EF/gh+ijklmnopqrstuvw="}, false},
		{"ok/lower-case-cf", "rssmra85t10a562s/6000000000000000.xyz",
			CNFields{"RSSMRA85T10A562S", "6000000000000000", "xyz"}, false},
		{"ok/no-hash", "RSSMRA85T10A562S/6000000000000000",
			CNFields{"RSSMRA85T10A562S", "6000000000000000", ""}, false},
		{"ok/bare-cf", "RSSMRA85T10A562S", CNFields{FiscalCode: "RSSMRA85T10A562S"}, false},
		{"fail/empty", "", CNFields{}, true},
		{"fail/no-card-id", "RSSMRA85T10A562S/", CNFields{FiscalCode: "RSSMRA85T10A562S"}, true},
		{"fail/no-card-id-only-hash", "RSSMRA85T10A562S/.hash", CNFields{"RSSMRA85T10A562S", "", "hash"}, true},
		{"fail/long-s-in-cf", "RSSMRA85T10A562\u017f/6000000000000000.xyz", CNFields{}, true},
		{"fail/nbsp-in-cf", "RSSMRA85T10A562S\u00a0/6000000000000000.xyz", CNFields{}, true},
		{"fail/control-byte-in-cf", "RSSMRA85T10A562S\x00/6000000000000000.xyz", CNFields{}, true},
		{"fail/fullwidth-digit-in-card-id", "RSSMRA85T10A562S/600000000000000\uff10.xyz", CNFields{}, true},
		{"ok/non-ascii-in-hash-only", "RSSMRA85T10A562S/6000000000000000.\u017f", CNFields{"RSSMRA85T10A562S", "6000000000000000", "\u017f"}, false},
		{"ok/bare-name-with-accent", "NICOLÒ ROSSI", CNFields{FiscalCode: "NICOLÒ ROSSI"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCN(tt.cn)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if strings.Contains(tt.name, "-in-c") && !errors.Is(err, ErrNonASCII) {
				t.Fatalf("err = %v, want ErrNonASCII", err)
			}
			if got != tt.want {
				t.Fatalf("ParseCN(%q) = %+v, want %+v", tt.cn, got, tt.want)
			}
		})
	}
}

func TestFiscalCodeFromSerialNumber(t *testing.T) {
	for in, want := range map[string]string{
		"TINIT-RSSMRA85T10A562S": "RSSMRA85T10A562S",
		"IT:RSSMRA85T10A562S":    "RSSMRA85T10A562S",
		"tinit-rssmra85t10a562s": "RSSMRA85T10A562S",
		"VATIT-01234567890":      "",
		"12345":                  "",
	} {
		got, ok := fiscalCodeFromSerialNumber(in)
		if got != want || ok != (want != "") {
			t.Errorf("%q: got %q %v, want %q", in, got, ok, want)
		}
	}
}

func TestRegionFromName(t *testing.T) {
	for in, want := range map[string]string{
		"Regione Toscana - CA Cittadini":                            "Toscana",
		"Provincia Autonoma di Trento":                              "Provincia Autonoma di Trento",
		"Provincia autonoma Trento - CA Cittadini":                  "Provincia Autonoma di Trento",
		"Regione Autonoma della Sardegna - CA Cittadini":            "Sardegna",
		"Regione Autonoma Friuli Venezia Giulia - CA Cittadini":     "Friuli-Venezia Giulia",
		"Regione Siciliana Certification Authority Cittadini":       "Sicilia",
		"Regione Emilia Romagna - CA Cittadini":                     "Emilia-Romagna",
		"Postecert per Regione Emilia-Romagna CA2":                  "Emilia-Romagna",
		"Regione Lombardia - CA Cittadini - 2013":                   "Lombardia",
		"Regione Autonoma Valle d'Aosta - CA Cittadini":             "Valle d'Aosta",
		"Regione_Toscana_CA_Cittadini":                              "Toscana",
		"Regione Autonoma Valle d’Aosta":                            "Valle d'Aosta",
		"Regione Marchesato":                                        "",
		"Actalis CA per Autenticazione CNS 2":                       "",
		"National root CA for the Italian Electronic Identity Card": "",
	} {
		if got := RegionFromName(in); got != want {
			t.Errorf("RegionFromName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseCN(f *testing.F) {
	for _, s := range []string{
		"RSSMRA85T10A562S/6000000000000000.ab/cd+EF/gh+ijklmnopqrstuvw=",
		"RSSMRA85T10A562S", "/", "a/b.c.d", "", "RSSMRA85T10A562S/.", "\x00/\xff.",
		"RSSMRA85T10A562\u017f/6000000000000000.abc", "RSSMRA85T10A562S/600000000000000\uff10.abc",
		"\u00a0RSSMRA85T10A562S/6000000000000000.abc", "RSSMRA85T10A562\u017f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cn string) {
		got, err := ParseCN(cn)
		if err != nil {
			return
		}
		// What a CN with '/' yields as fiscal code and card id is ASCII.
		if strings.Contains(cn, "/") && (firstNonASCII(got.FiscalCode) >= 0 || firstNonASCII(got.CardID) >= 0) {
			t.Fatalf("ParseCN(%q) = %+v lets non-ASCII through", cn, got)
		}
		// Everything after the first '/' is kept, split at the last '.':
		// nothing is lost or invented, whatever '/', '+' or '.' the hash holds.
		trimmed := strings.TrimSpace(cn)
		slash := strings.IndexByte(trimmed, '/')
		if slash < 0 {
			if got.CardID != "" || got.Hash != "" {
				t.Fatalf("ParseCN(%q) invented a card id: %+v", cn, got)
			}
			return
		}
		rest := trimmed[slash+1:]
		rebuilt := got.CardID
		if strings.Contains(rest, ".") {
			rebuilt += "." + got.Hash
		}
		if rebuilt != rest || strings.Contains(got.Hash, ".") {
			t.Fatalf("ParseCN(%q) = %+v loses or invents text after '/'", cn, got)
		}
	})
}

// FuzzExtractIdentity feeds arbitrary CN and serialNumber values through
// the whole identity extraction: it never panics, refuses with a Reason of
// the fixed set, and whatever it accepts carries a valid fiscal code (and a
// valid card id when there is one).
func FuzzExtractIdentity(f *testing.F) {
	f.Add("RSSMRA85T10A562S/6000000000000000.ab/cd+EF=", "")
	f.Add("MARIO ROSSI", "TINIT-RSSMRA85T10A562S")
	f.Add("MARIO ROSSI", "IT:rssmra85t10a562s")
	f.Add("X/Y.Z", "TINIT-")
	f.Add("", "")
	f.Add("RSSMRA85T10A562\u017f/6000000000000000.ab/cd+EF=", "")
	f.Add("RSSMRA85T10A562\u017f", "")
	f.Add("RSSMRA85T10A562S/600000000000000\u0660.ab=", "")
	f.Add("MARIO ROSSI", "TINIT-RSSMRA85T10A562\u017f")
	f.Add("MARIO ROSSI", "\u0131T:RSSMRA85T10A562S")
	f.Fuzz(func(t *testing.T, cn, serialNumber string) {
		subject := pkix.Name{Names: []pkix.AttributeTypeAndValue{
			{Type: OIDCountry, Value: "IT"},
			{Type: OIDCommonName, Value: cn},
			{Type: OIDSerialNumber, Value: serialNumber},
		}}
		cert := &x509.Certificate{Raw: []byte(cn + "\x00" + serialNumber), Subject: subject, SerialNumber: big.NewInt(1)}
		id, err := ExtractIdentity(cert, nil)
		if err != nil {
			switch ReasonOf(err) {
			case ReasonNoFiscalCode, ReasonBadFiscalCode, ReasonBadCardID, ReasonBadSubject:
				return
			default:
				t.Fatalf("unexpected reason for %q/%q: %v", cn, serialNumber, err)
			}
		}
		if ValidateFiscalCode(id.FiscalCode) != nil {
			t.Fatalf("accepted invalid fiscal code %q from %q/%q", id.FiscalCode, cn, serialNumber)
		}
		if id.CardID != "" && ValidateCardID(id.CardID) != nil {
			t.Fatalf("accepted invalid card id %q", id.CardID)
		}
	})
}

// FuzzExtractIdentityTwoCNs: a subject with two CN attributes is refused as
// bad_subject whatever they hold, never read as its first CN.
func FuzzExtractIdentityTwoCNs(f *testing.F) {
	f.Add("RSSMRA85T10A562S/6000000000000000.ab/cd+EF=", "VRDLGU80A01H501Q/6000000000000000.ab=")
	f.Add("RSSMRA85T10A562S", "")
	f.Add("", "RSSMRA85T10A562\u017f")
	f.Fuzz(func(t *testing.T, cn1, cn2 string) {
		subject := pkix.Name{Names: []pkix.AttributeTypeAndValue{
			{Type: OIDCommonName, Value: cn1},
			{Type: OIDCommonName, Value: cn2},
			{Type: OIDSerialNumber, Value: "TINIT-RSSMRA85T10A562S"},
		}}
		cert := &x509.Certificate{Raw: []byte(cn1 + "\x00" + cn2), Subject: subject, SerialNumber: big.NewInt(1)}
		if _, err := ExtractIdentity(cert, nil); ReasonOf(err) != ReasonBadSubject {
			t.Fatalf("two CNs %q, %q: %v, want bad_subject", cn1, cn2, err)
		}
	})
}
