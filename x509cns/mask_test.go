package x509cns

import (
	"strings"
	"testing"
)

func TestMaskFiscalCodes(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"ok/none", "no trusted CA issued \"CN=Regione Toscana\"", "no trusted CA issued \"CN=Regione Toscana\""},
		{"ok/short", "RSSMRA85", "RSSMRA85"},
		{"ok/cn", `no trusted CA issued "CN=RSSMRA85T10A562S/6038004550366343.abc+/=,O=TS-CNS"`, `no trusted CA issued "CN=RSS************S/6038004550366343.abc+/=,O=TS-CNS"`},
		{"ok/omocodia-and-lower-case", "tinit-rssmra85t10a5MRs and BNCLRA80A41H50NV", "tinit-rss************s and BNC************V"},
		{"ok/two", "RSSMRA85T10A562S RSSMRA85T10A562S", "RSS************S RSS************S"},
		{"ok/serial-number-forms", "TINIT-RSSMRA85T10A562S IT:RSSMRA85T10A562S", "TINIT-RSS************S IT:RSS************S"},
		// A hex hash holds fiscal-code-shaped runs by chance: left whole.
		{"ok/inside-a-hex-hash", "session_hash=04a9abcdef12a34b567c9c2ae93e", "session_hash=04a9abcdef12a34b567c9c2ae93e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskFiscalCodes(tt.in); got != tt.want {
				t.Fatalf("MaskFiscalCodes(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRejectionMasksFiscalCodes(t *testing.T) {
	rej := Reject(ReasonUnknownIssuer, "no trusted CA issued %q", "CN=RSSMRA85T10A562S/6038004550366343.x")
	wrapped := &Rejection{Reason: ReasonBadFiscalCode, Detail: "common name", Err: errString("bad RSSMRA85T10A562S")}
	for _, s := range []string{rej.Detail, rej.Error(), wrapped.Error()} {
		if strings.Contains(s, "RSSMRA85T10A562S") || !strings.Contains(s, "RSS************S") {
			t.Fatalf("not masked: %q", s)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
