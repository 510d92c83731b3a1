package demo

import (
	"os"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// TestPKCS12Cards: every demo card is also a PKCS#12 file that opens with
// the printed password and holds that card, also in a directory made
// before the files existed.
func TestPKCS12Cards(t *testing.T) {
	dir := t.TempDir()
	s, err := Prepare(dir, Ports{Public: "127.0.0.1:1", CNS: "127.0.0.1:2", Admin: "127.0.0.1:3"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		for _, c := range s.Cards {
			der, err := os.ReadFile(c.PKCS12File())
			if err != nil {
				t.Fatal(err)
			}
			_, cert, _, err := pkcs12.DecodeChain(der, PKCS12Password)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			if cert.Subject.CommonName == "" {
				t.Fatalf("%s: no certificate", c.Name)
			}
			if _, _, _, err := pkcs12.DecodeChain(der, "wrong"); err == nil {
				t.Fatalf("%s: opens with a wrong password", c.Name)
			}
		}
	}
	check()
	// An older directory without them gets them at the next start.
	for _, c := range s.Cards {
		os.Remove(c.PKCS12File())
	}
	if s, err = Prepare(dir, Ports{Public: "127.0.0.1:1", CNS: "127.0.0.1:2", Admin: "127.0.0.1:3"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	check()
}
