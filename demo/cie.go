package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// CIECRLPath is where the demo serves the CRL of its CIE issuing sub-CA,
// and CIERootCRLPath that of the CIE root (the one that would list SUBCA1
// if it were revoked: serve checks every CA of the chain below the anchor).
const (
	CIECRLPath     = "/demo/cie.crl"
	CIERootCRLPath = "/demo/cie-root.crl"
)

// The demo's CIE chain: a national root (a trust anchor) and the SUBCA1
// that issues the cards, presented by the client after its card.
const (
	cieSubCACert = "cie-subca1.crt"
	cieSubCAKey  = "cie-subca1.key"
	cieRootCert  = "cie-root.crt"
	cieRootKey   = "cie-root.key"
)

// cieCard is the plan entry of the CIE-profile card.
func cieCard() Card {
	return Card{Name: "cie", Description: "registered CIE-profile card: root -> SUBCA1 chain, policy 1.3.76.47.4 (Giulia Russo)",
		FiscalCode: "RSSGLI88E52H501X"}
}

// ensureCIE creates, once, the CIE root (into the trust directory, and
// under pki/ with its key to sign its CRL), its SUBCA1 (kept under pki/ to
// sign CRLs), and a registered card it issued. Demo directories made
// before it existed, or before the root's key was kept, get a new chain at
// their next start.
func (s *Setup) ensureCIE(now time.Time) error {
	if _, err := os.Stat(filepath.Join(s.Dir, "pki", cieRootKey)); err == nil {
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
	if err := s.writeCIECA(sub, cieSubCACert, cieSubCAKey); err != nil {
		return err
	}
	// Written last: its key's presence says the whole CIE chain is in place.
	if err := s.writeCIECA(root, cieRootCert, cieRootKey); err != nil {
		return err
	}
	return s.registerCards([]*cnstest.Card{card})
}

// writeCIECA keeps a CA of the CIE chain under pki/, key before
// certificate.
func (s *Setup) writeCIECA(ca *cnstest.CA, certName, keyName string) error {
	key, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "pki", keyName), key, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, "pki", certName), ca.CertPEM(), 0o644)
}

// loadCIESubCA reloads the CIE SUBCA1 to sign its CRL.
func (s *Setup) loadCIESubCA() (*cnstest.CA, error) { return s.loadCIECA(cieSubCACert, cieSubCAKey) }

// LoadCIERoot reloads the CIE root, e.g. to sign a CRL that lists SUBCA1.
func (s *Setup) LoadCIERoot() (*cnstest.CA, error) { return s.loadCIECA(cieRootCert, cieRootKey) }

func (s *Setup) loadCIECA(certName, keyName string) (*cnstest.CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(s.Dir, "pki", certName))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(s.Dir, "pki", keyName))
	if err != nil {
		return nil, err
	}
	return cnstest.LoadCA(certPEM, keyPEM)
}
