package x509cns

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTrustStoreLoadPEMDir(t *testing.T) {
	dir := t.TempDir()
	nb, na := t2018.AddDate(-1, 0, 0), t2018.AddDate(5, 0, 0)
	root, rootKey := mint(t, caTemplate("Regione Test - CA Cittadini", nb, na), nil, nil)
	old, _ := mint(t, caTemplate("Vecchia CA Firma Qualificata", nb.AddDate(-10, 0, 0), nb), nil, nil)
	leaf, _ := mint(t, &x509.Certificate{NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature}, root, rootKey)
	noSign := caTemplate("CA senza keyCertSign", nb, na)
	noSign.KeyUsage = x509.KeyUsageCRLSign
	noCertSign, _ := mint(t, noSign, nil, nil)

	writePEM(t, filepath.Join(dir, "a-bundle.pem"), certBlock(root), certBlock(old))
	if err := os.WriteFile(filepath.Join(dir, "b-der.CER"), root.Raw, 0o644); err != nil { // same DER again
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "c-leaf.crt"), certBlock(leaf))
	writePEM(t, filepath.Join(dir, "d-broken.pem"), &pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	writePEM(t, filepath.Join(dir, "e-key.pem"), &pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	writePEM(t, filepath.Join(dir, "f-nocertsign.pem"), certBlock(noCertSign))
	if err := os.WriteFile(filepath.Join(dir, "g-empty.pem"), []byte("-----BEGIN nothing"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.pem"), 0o755); err != nil { // a directory: ignored
		t.Fatal(err)
	}

	s := NewTrustStore()
	s.Now = fixedNow(t2018)
	rep, err := s.LoadPEMDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep.Summary())

	want := []struct {
		source string
		status CertStatus
		detail string
	}{
		{"a-bundle.pem#1", StatusUsable, ""},
		{"a-bundle.pem#2", StatusExpired, "expired on"},
		{"b-der.CER", StatusDuplicate, "same DER"},
		{"c-leaf.crt", StatusNotCA, "basicConstraints"},
		{"d-broken.pem", StatusMalformed, "x509:"},
		{"e-key.pem", StatusMalformed, `"PRIVATE KEY" is not a CERTIFICATE`},
		{"f-nocertsign.pem", StatusNoCertSign, "keyCertSign"},
		{"g-empty.pem", StatusMalformed, "no valid PEM block"},
	}
	if len(rep.Entries) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(rep.Entries), len(want), rep.Entries)
	}
	for i, w := range want {
		t.Run(w.source, func(t *testing.T) {
			e := rep.Entries[i]
			if e.Source != filepath.Join(dir, w.source) || e.Status != w.status || !strings.Contains(e.Detail, w.detail) {
				t.Errorf("entry = {%s %s %q}, want {%s %s %q}", e.Source, e.Status, e.Detail, w.source, w.status, w.detail)
			}
		})
	}
	if rep.Files != 7 || rep.Certificates != 8 || rep.Loaded != 2 || rep.Usable != 1 || rep.UsableCNS != 1 || s.Len() != 2 {
		t.Errorf("report %+v", rep)
	}
	sum := rep.Summary()
	for _, part := range []string{"8 certificates in 7 files", "1 usable anchors now (1 look like CNS", "1 expired", "1 not CA", "1 without keyCertSign", "1 duplicate", "3 malformed", "2 stored"} {
		if !strings.Contains(sum, part) {
			t.Errorf("Summary %q lacks %q", sum, part)
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("report does not marshal: %v", err)
	}
}

func TestTrustStoreLoadPEMDirMissing(t *testing.T) {
	if _, err := NewTrustStore().LoadPEMDir(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("missing directory: no error")
	}
}
