package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// CIECRLPath is where the demo serves the CRL of its CIE issuing sub-CA.
const CIECRLPath = "/demo/cie.crl"

// The demo's CIE chain: a national root (a trust anchor) and the SUBCA1
// that issues the cards, presented by the client after its card.
const (
	cieSubCACert = "cie-subca1.crt"
	cieSubCAKey  = "cie-subca1.key"
)

// cieCard is the plan entry of the CIE-profile card.
func cieCard() Card {
	return Card{Name: "cie", Description: "registered CIE-profile card: root -> SUBCA1 chain, policy 1.3.76.47.4 (Giulia Russo)",
		FiscalCode: "RSSGLI88E52H501X"}
}

// ensureCIE creates, once, the CIE root (into the trust directory), its
// SUBCA1 (kept under pki/ to sign CRLs), and a registered card it issued.
// Demo directories made before it existed get it at their next start.
func (s *Setup) ensureCIE(now time.Time) error {
	if _, err := os.Stat(filepath.Join(s.Dir, "pki", cieSubCACert)); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	clock := cnstest.WithNow(func() time.Time { return now })
	root, err := cnstest.NewCIERoot(clock)
	if err != nil {
		return err
	}
	sub, err := root.NewSubCA(cnstest.CIESubCA1CN)
	if err != nil {
		return err
	}
	plan, _ := s.Card("cie")
	card, err := sub.IssueCard(cnstest.CardOptions{FiscalCode: plan.FiscalCode, GivenName: "GIULIA", FamilyName: "RUSSO", UniqueKey: true})
	if err != nil {
		return fmt.Errorf("demo CIE card: %w", err)
	}
	if _, err := card.WriteFiles(filepath.Join(s.Dir, "cards"), plan.Name); err != nil {
		return err
	}
	if _, err := cnstest.WriteCAFiles(s.TrustDir, root); err != nil {
		return err
	}
	key, err := sub.KeyPEM()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "pki", cieSubCAKey), key, 0o600); err != nil {
		return err
	}
	// Written last: its presence says the whole CIE chain is in place.
	if err := os.WriteFile(filepath.Join(s.Dir, "pki", cieSubCACert), sub.CertPEM(), 0o644); err != nil {
		return err
	}
	return s.registerCards([]*cnstest.Card{card})
}

// loadCIESubCA reloads the CIE SUBCA1 to sign its CRL.
func (s *Setup) loadCIESubCA() (*cnstest.CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(s.Dir, "pki", cieSubCACert))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(s.Dir, "pki", cieSubCAKey))
	if err != nil {
		return nil, err
	}
	return cnstest.LoadCA(certPEM, keyPEM)
}
