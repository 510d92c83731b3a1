package x509cns

import (
	"bytes"
	"crypto/x509"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// realTSL2018Dir holds the 358 CA certificates of AgID's trusted list as of
// 2018-12-14, kept in the repository (see its README.md).
func realTSL2018Dir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("testdata", "it-tsl-2018")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("real trusted-list certificates missing: %v", err)
	}
	return dir
}

func loadRealTSL2018(t *testing.T, now time.Time) (*TrustStore, *LoadReport) {
	t.Helper()
	s := NewTrustStore()
	s.Now = fixedNow(now)
	rep, err := s.LoadPEMDir(realTSL2018Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	return s, rep
}

// The figures below were read off the data (see the report's entries) and
// explained in the package's hand-over notes: 358 files, one certificate
// each; 9 are byte-identical copies (the 2018 list named some CAs under two
// services); 2 Enel.it roots of 2001 need the BER-BOOLEAN repair; every
// certificate is a CA with keyCertSign and RSA >= 1024, so the only
// time-dependent split is usable/expired.
func TestTrustStoreRealTSL2018Counts(t *testing.T) {
	tests := []struct {
		name                 string
		now                  time.Time
		usable, cns, expired int
	}{
		{"at/2018-12-14", t2018, 209, 99, 140},
		{"at/2026-11-22", t2026, 138, 56, 211},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rep := loadRealTSL2018(t, tt.now)
			t.Log(rep.Summary())
			want := map[CertStatus]int{StatusUsable: tt.usable, StatusExpired: tt.expired, StatusDuplicate: 9}
			if got := rep.Counts(); !maps.Equal(got, want) {
				t.Errorf("Counts = %v, want %v", got, want)
			}
			if rep.Files != 358 || rep.Certificates != 358 || rep.Loaded != 349 || s.Len() != 349 || rep.Repaired != 2 {
				t.Errorf("files %d, certificates %d, loaded %d, Len %d, repaired %d; want 358, 358, 349, 349, 2",
					rep.Files, rep.Certificates, rep.Loaded, s.Len(), rep.Repaired)
			}
			if rep.Usable != tt.usable || rep.UsableCNS != tt.cns {
				t.Errorf("usable %d (CNS-looking %d), want %d (%d)", rep.Usable, rep.UsableCNS, tt.usable, tt.cns)
			}
			// Time-independent: which stored anchors look like CNS/CIE CAs.
			looks := 0
			for _, e := range rep.Entries {
				if e.Status.Stored() && e.LooksCNS {
					looks++
				}
			}
			if looks != 107 {
				t.Errorf("%d stored anchors look like CNS/CIE CAs, want 107", looks)
			}
			if n := len(s.Subjects()); n == 0 || n > tt.usable {
				t.Errorf("Subjects = %d names", n)
			}
		})
	}
}

// Go's parser refuses exactly two of the 358: Enel.it roots of 2001 that
// encode basicConstraints cA TRUE as BER 0x01. They load after the repair.
func TestTrustStoreRealTSL2018EveryCertificateParses(t *testing.T) {
	_, rep := loadRealTSL2018(t, t2018)
	var repaired []string
	for _, e := range rep.Entries {
		if e.Status == StatusMalformed {
			t.Errorf("%s: %s", e.Source, e.Detail)
		}
		if e.Repaired {
			repaired = append(repaired, filepath.Base(e.Source))
			if !strings.Contains(e.Detail, "x509: invalid basic constraints") || e.Status != StatusExpired {
				t.Errorf("%s: status %s, detail %q", e.Source, e.Status, e.Detail)
			}
		}
	}
	want := []string{
		"Certificazione_TSA_Servizi_di_Firma_Qualificata_Enel.it_S.p.A._IT.pem",
		"Certificazione_Titolari_Servizi_di_Firma_Qualificata_Enel.it_S.p.A._IT.pem",
	}
	if !slices.Equal(repaired, want) {
		t.Errorf("repaired = %q, want %q", repaired, want)
	}
}

// Real re-keyed CAs (same subject, several keys): a card names its CA's
// key in its AKI, and Issuers must return that version, not the newest.
func TestTrustStoreRealTSL2018IssuersByAKI(t *testing.T) {
	s, _ := loadRealTSL2018(t, t2018)
	bySubject := make(map[string][]int)
	anchors := s.Anchors()
	for i, a := range anchors {
		bySubject[string(a.RawSubject)] = append(bySubject[string(a.RawSubject)], i)
	}
	rekeyed := 0
	for _, idx := range bySubject {
		if len(idx) < 2 {
			continue
		}
		rekeyed++
		for _, i := range idx {
			v := anchors[i]
			got := s.Issuers(leafNamedUnder(t, v, true))
			if len(got) != 1 || !got[0].Equal(v) {
				t.Errorf("%s (from %s): Issuers by AKI returned %d certificates, want this version only",
					v.Subject.CommonName, v.NotBefore.Format(time.DateOnly), len(got))
			}
		}
		got := s.Issuers(leafNamedUnder(t, anchors[idx[0]], false))
		if len(got) != len(idx) {
			t.Errorf("%s: Issuers by name = %d, want %d versions", anchors[idx[0]].Subject.CommonName, len(got), len(idx))
		}
		for j := 1; j < len(got); j++ {
			if got[j].NotBefore.After(got[j-1].NotBefore) {
				t.Errorf("%s: Issuers by name not newest first", anchors[idx[0]].Subject.CommonName)
			}
		}
	}
	if rekeyed != 24 {
		t.Errorf("%d subjects with several versions, want 24", rekeyed)
	}

	// Named cases: the Postecom "Regione Campania - CA Cittadini" of 2011 and
	// 2015, and the CIE SUBCA1, a real non-self-signed anchor, whose AKI
	// names the CIE root.
	a := readTestCert(t, "campania-cittadini-a.pem")
	b := readTestCert(t, "campania-cittadini-b.pem")
	if !bytes.Equal(a.RawSubject, b.RawSubject) || bytes.Equal(a.SubjectKeyId, b.SubjectKeyId) {
		t.Fatal("testdata: the two Campania versions must share the subject, not the key")
	}
	for _, v := range []struct {
		name string
		ca   *x509.Certificate
	}{{"campania-2011", a}, {"campania-2015", b}} {
		got := s.Issuers(leafNamedUnder(t, v.ca, true))
		if len(got) != 1 || !got[0].Equal(v.ca) {
			t.Errorf("%s: Issuers picked the wrong version", v.name)
		}
	}
	sub := readTestCert(t, "cie-subca1.pem")
	root := readTestCert(t, "cie-root.pem")
	if got := s.Issuers(sub); len(got) != 1 || !got[0].Equal(root) {
		t.Errorf("Issuers(SUBCA1) = %d certificates, want the CIE root", len(got))
	}
	if !s.Contains(sub) {
		t.Error("SUBCA1 is not an anchor")
	}
}
