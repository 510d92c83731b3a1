package x509cns_test

import (
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestClassifyCard: a CIE is "cie" (not "regional", as its card id says),
// a card of an InfoCamere CA "chamber_of_commerce", an operator card stays
// "operator" whatever CA issued it, and a regional card "regional".
func TestClassifyCard(t *testing.T) {
	root, err := cnstest.NewCIERoot()
	if err != nil {
		t.Fatal(err)
	}
	cie, err := root.NewSubCA(cnstest.CIESubCA1CN)
	if err != nil {
		t.Fatal(err)
	}
	toscana, err := cnstest.NewRegionalCA("Toscana")
	if err != nil {
		t.Fatal(err)
	}
	chamber, err := cnstest.NewRegionalCA("Lazio", cnstest.WithProvider("InfoCamere SCpA"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		ca   *cnstest.CA
		typ  byte
		want x509cns.CardType
	}{
		{"cie", cie, '6', x509cns.CardTypeCIE},
		{"regional", toscana, '6', x509cns.CardTypeRegional},
		{"national", toscana, '5', x509cns.CardTypeNational},
		{"chamber-of-commerce", chamber, '7', x509cns.CardTypeChamberOfCommerce},
		{"operator-of-a-chamber-ca", chamber, '8', x509cns.CardTypeOperator},
		{"operator", toscana, '9', x509cns.CardTypeOperator},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			card := c.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S", CardType: c.typ})
			id, err := x509cns.ExtractIdentity(card.Cert, c.ca.Cert)
			if err != nil {
				t.Fatal(err)
			}
			if id.CardType != c.want {
				t.Fatalf("card type %q, want %q", id.CardType, c.want)
			}
		})
	}
}
