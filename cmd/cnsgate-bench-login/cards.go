package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// demoCA loads the demo's card CA, certificate and key, from its pki
// directory.
func demoCA(setup *demo.Setup) (*cnstest.CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.crt"))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.key"))
	if err != nil {
		return nil, err
	}
	return cnstest.LoadCA(certPEM, keyPEM)
}

// mintCards issues n citizen cards of the demo CA, each with an RSA-2048
// key of its own and a random fiscal code, and registers them in the demo
// registry: logins spread over many citizens, as in production, instead
// of piling every session on one.
func mintCards(setup *demo.Setup, n int) ([]tls.Certificate, error) {
	ca, err := demoCA(setup)
	if err != nil {
		return nil, err
	}
	// What NewRegionalCA gave the demo CA and its files do not keep.
	ca.Administration, ca.CardPolicies = "Regione Demo", []cnstest.Policy{cnstest.CNSPolicy()}
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.DriverSQLite, filepath.Join(setup.Dir, "cnsgate.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out := make([]tls.Certificate, 0, n)
	for i := range n {
		card, err := ca.IssueCard(cnstest.CardOptions{UniqueKey: true, GivenName: "CITTADINO", FamilyName: fmt.Sprintf("BENCH%d", i)})
		if err != nil {
			return nil, err
		}
		id, err := x509cns.ExtractIdentity(card.Cert, ca.Cert)
		if err != nil {
			return nil, err
		}
		if _, _, err := db.Register(ctx, registry.Registration{FiscalCode: id.FiscalCode, CardID: id.CardID, Issuer: id.Issuer,
			Serial: id.Serial, Fingerprint: id.Fingerprint, GivenName: id.GivenName, FamilyName: id.FamilyName,
			Region: id.Region, CardType: string(id.CardType)}); err != nil {
			return nil, err
		}
		out = append(out, card.TLSCertificate())
	}
	return out, nil
}
