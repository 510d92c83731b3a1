package x509cns

import "encoding/asn1"

// Certificate policies that mark card authentication certificates.
var (
	// OIDPolicyCNS marks a CNS authentication certificate (mandatory since 2005).
	OIDPolicyCNS = asn1.ObjectIdentifier{1, 3, 76, 16, 2, 1}
	// OIDPolicyCIE marks the CIE (Carta d'Identità Elettronica) authentication certificate.
	OIDPolicyCIE = asn1.ObjectIdentifier{1, 3, 76, 47, 4}
	// OIDPolicyCRSLombardia and OIDPolicyCRSLombardia2 were used by old Lombardy CRS cards.
	OIDPolicyCRSLombardia  = asn1.ObjectIdentifier{1, 3, 159, 6, 1, 3, 2, 10}
	OIDPolicyCRSLombardia2 = asn1.ObjectIdentifier{1, 3, 76, 12, 1, 1, 10, 2, 2, 10}
)

// Subject attribute types read from the DER subject.
var (
	OIDCommonName         = asn1.ObjectIdentifier{2, 5, 4, 3}
	OIDSurname            = asn1.ObjectIdentifier{2, 5, 4, 4}
	OIDSerialNumber       = asn1.ObjectIdentifier{2, 5, 4, 5}
	OIDCountry            = asn1.ObjectIdentifier{2, 5, 4, 6}
	OIDOrganization       = asn1.ObjectIdentifier{2, 5, 4, 10}
	OIDOrganizationalUnit = asn1.ObjectIdentifier{2, 5, 4, 11}
	OIDGivenName          = asn1.ObjectIdentifier{2, 5, 4, 42}
	OIDDNQualifier        = asn1.ObjectIdentifier{2, 5, 4, 46}
)

// DefaultPolicies are the policies accepted when trust.policies is empty.
func DefaultPolicies() []asn1.ObjectIdentifier {
	return []asn1.ObjectIdentifier{OIDPolicyCNS, OIDPolicyCIE}
}
