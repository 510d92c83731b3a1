package x509cns_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// poolDir writes each certificate to its own PEM file of a new directory.
func poolDir(t *testing.T, certs ...*x509.Certificate) string {
	t.Helper()
	dir := t.TempDir()
	for i, c := range certs {
		data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".pem"), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadPool(t *testing.T, now time.Time, dir string) (*x509cns.IntermediatePool, *x509cns.LoadReport) {
	t.Helper()
	pool := x509cns.NewIntermediatePool()
	pool.Now = func() time.Time { return now }
	rep, err := pool.LoadPEMDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return pool, rep
}

func TestIntermediatePoolCompletesCIEChain(t *testing.T) {
	p := newTestPKI(t)
	card := p.cieSub.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S"})
	leafOnly := []*x509.Certificate{card.Cert}

	without := &x509cns.Validator{Anchors: p.store, Policy: x509cns.DefaultPolicy()}
	if _, err := without.Validate(leafOnly, p.now); x509cns.ReasonOf(err) != x509cns.ReasonUnknownIssuer {
		t.Fatalf("leaf alone without a pool: %v, want unknown_issuer", err)
	}

	pool, rep := loadPool(t, p.now, poolDir(t, p.cieSub.Cert))
	if rep.Usable != 1 || pool.Len() != 1 || !strings.Contains(rep.Summary(), "1 usable intermediates (not anchors) now") {
		t.Fatalf("pool report: %+v; %s", rep, rep.Summary())
	}
	with := &x509cns.Validator{Anchors: p.store, Intermediates: pool, Policy: x509cns.DefaultPolicy()}
	res, err := with.Validate(leafOnly, p.now)
	if err != nil {
		t.Fatalf("leaf alone with SUBCA1 in the pool: %v", err)
	}
	if len(res.Chain) != 3 || !res.Issuer().Equal(p.cieSub.Cert) || !res.Chain[2].Equal(p.cieRoot.Cert) || res.Identity.FiscalCode != "RSSMRA85T10A562S" {
		t.Fatalf("chain %v, identity %+v", res.Chain, res.Identity)
	}
	// Presented and pooled at once: the presented copy is used, once.
	if res, err := with.Validate([]*x509.Certificate{card.Cert, card.Chain[0]}, p.now); err != nil || len(res.Chain) != 3 {
		t.Fatalf("leaf and SUBCA1 presented with SUBCA1 pooled: %v", err)
	}
	// The pool does not lift the cap: with max_intermediates 1 the path
	// leaf → SUBCA1 → root still fits, but nothing longer would.
	one := x509cns.DefaultPolicy()
	one.MaxIntermediates = 1
	if _, err := (&x509cns.Validator{Anchors: p.store, Intermediates: pool, Policy: one}).Validate(leafOnly, p.now); err != nil {
		t.Fatalf("max_intermediates 1: %v", err)
	}
}

func TestIntermediatePoolRefusesWhatIsNotACA(t *testing.T) {
	p := newTestPKI(t)
	card := p.cieSub.MustIssueCard(cnstest.CardOptions{})
	noSign := selfSignedCA(t, "CA senza keyCertSign", x509.KeyUsageDigitalSignature)
	_, rep := loadPool(t, p.now, poolDir(t, card.Cert, noSign, p.cieSub.Cert))
	if rep.Files != 3 || rep.Loaded != 1 || rep.Usable != 1 {
		t.Fatalf("report %+v", rep)
	}
	want := []x509cns.CertStatus{x509cns.StatusNotCA, x509cns.StatusNoCertSign, x509cns.StatusUsable}
	for i, e := range rep.Entries {
		if e.Status != want[i] {
			t.Errorf("entry %d (%s): %s (%s), want %s", i, e.Source, e.Status, e.Detail, want[i])
		}
	}
	if s := rep.Summary(); !strings.Contains(s, "1 not CA") || !strings.Contains(s, "1 without keyCertSign") {
		t.Errorf("summary %q", s)
	}
	if _, err := x509cns.NewIntermediatePool().LoadPEMDir(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "intermediate directory") {
		t.Errorf("missing directory: %v", err)
	}
}

// A pool certificate is never an anchor: a card issued by a self-signed CA
// placed in intermediate_dirs (and not in ca_dirs) is refused.
func TestIntermediatePoolIsNotTrusted(t *testing.T) {
	p := newTestPKI(t)
	rogue, err := cnstest.NewRegionalCA("Veneto", cnstest.WithNow(func() time.Time { return p.now }))
	if err != nil {
		t.Fatal(err)
	}
	pool, rep := loadPool(t, p.now, poolDir(t, rogue.Cert))
	if rep.Usable != 1 || !strings.Contains(rep.Entries[0].Detail, "never as a trust anchor") {
		t.Fatalf("report entry %+v", rep.Entries[0])
	}
	v := &x509cns.Validator{Anchors: p.store, Intermediates: pool, Policy: x509cns.DefaultPolicy()}
	card := rogue.MustIssueCard(cnstest.CardOptions{})
	for _, chain := range [][]*x509.Certificate{{card.Cert}, {card.Cert, rogue.Cert}} {
		if _, err := v.Validate(chain, p.now); x509cns.ReasonOf(err) != x509cns.ReasonUnknownIssuer {
			t.Errorf("card of a pooled self-signed CA (%d presented): %v, want unknown_issuer", len(chain), err)
		}
	}
	// Nor does the pool vouch for a same-named CA of another key.
	card = p.stranger.MustIssueCard(cnstest.CardOptions{})
	pool, _ = loadPool(t, p.now, poolDir(t, p.stranger.Cert))
	v.Intermediates = pool
	if _, err := v.Validate([]*x509.Certificate{card.Cert}, p.now); x509cns.ReasonOf(err) != x509cns.ReasonUnknownIssuer {
		t.Errorf("card of a pooled untrusted Toscana: %v, want unknown_issuer", err)
	}
}

func selfSignedCA(t *testing.T, cn string, ku x509.KeyUsage) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: ku,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
