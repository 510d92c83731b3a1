package x509cns

import (
	"crypto/x509"
	"strings"
)

// More card types, beside those of the card id's first digit.
const (
	// CardTypeCIE is a Carta d'Identità Elettronica: its authentication
	// certificate carries the CIE policy (OIDPolicyCIE), whatever its
	// card id says.
	CardTypeCIE CardType = "cie"
	// CardTypeChamberOfCommerce is a CNS token (smart card or USB key)
	// issued through a Chamber of Commerce to a company's representative:
	// its issuing CA belongs to the Chambers' system (InfoCamere, "Sistema
	// Camerale") or the card names a Chamber of Commerce (CCIAA).
	CardTypeChamberOfCommerce CardType = "chamber_of_commerce"
)

// CardTypes are every card type, for labels and documentation.
var CardTypes = []CardType{CardTypeNational, CardTypeRegional, CardTypeOther, CardTypeOperator,
	CardTypeCIE, CardTypeChamberOfCommerce, CardTypeUnknown}

// chamberMarks are what names a Chamber of Commerce issuer or card, lower
// case, in the O or OU of the card's subject, its issuer or the issuing CA.
var chamberMarks = []string{"infocamere", "sistema camerale", "camera di commercio", "cciaa"}

// ClassifyCard returns the card type of a card certificate: an operator
// card (card id 8 or 9) stays one; a certificate with the CIE policy is a
// CIE; a card of the Chambers of Commerce is chamber_of_commerce; the
// others follow the card id's first digit (CardTypeOf). issuer may be nil.
func ClassifyCard(cert, issuer *x509.Certificate, cardID string) CardType {
	byDigit := CardTypeOf(cardID)
	if byDigit == CardTypeOperator {
		return byDigit
	}
	for _, p := range cert.PolicyIdentifiers {
		if p.Equal(OIDPolicyCIE) {
			return CardTypeCIE
		}
	}
	names := append(attrs(cert.Subject, OIDOrganization), attrs(cert.Subject, OIDOrganizationalUnit)...)
	names = append(names, attrs(cert.Issuer, OIDOrganization)...)
	names = append(names, attrs(cert.Issuer, OIDOrganizationalUnit)...)
	if issuer != nil {
		names = append(names, attrs(issuer.Subject, OIDOrganization)...)
		names = append(names, attrs(issuer.Subject, OIDOrganizationalUnit)...)
	}
	for _, n := range names {
		n = strings.ToLower(n)
		for _, m := range chamberMarks {
			if strings.Contains(n, m) {
				return CardTypeChamberOfCommerce
			}
		}
	}
	return byDigit
}
