package cnstest_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"sync"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

var (
	oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidPolicies = asn1.ObjectIdentifier{2, 5, 29, 32}
)

// shared CAs for tests that only issue: minting CA keys is the slow part.
var (
	sharedOnce sync.Once
	sharedTos  *cnstest.CA
	sharedCIE  *cnstest.CA // SUBCA1
	sharedErr  error
)

func shared(t *testing.T) (toscana, subca1 *cnstest.CA) {
	t.Helper()
	sharedOnce.Do(func() {
		sharedTos, sharedErr = cnstest.NewRegionalCA("Toscana",
			cnstest.WithCRLDistributionPoints("http://crl.cnsgate.test/toscana.crl", "ldap://ldap.cnsgate.test/cn=Toscana?certificateRevocationList"),
			cnstest.WithOCSPServer("http://ocsp.cnsgate.test/toscana"))
		if sharedErr != nil {
			return
		}
		var root *cnstest.CA
		if root, sharedErr = cnstest.NewCIERoot(); sharedErr != nil {
			return
		}
		sharedCIE, sharedErr = root.NewSubCA(cnstest.CIESubCA1CN)
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedTos, sharedCIE
}

// attr returns the values of the attributes of type oid in a DER name, in
// order, read from the DER and not from a formatted string.
func attr(t *testing.T, rawName []byte, oid asn1.ObjectIdentifier) []string {
	t.Helper()
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(rawName, &rdns); err != nil {
		t.Fatalf("parse name: %v", err)
	}
	var out []string
	for _, rdn := range rdns {
		for _, atv := range rdn {
			if atv.Type.Equal(oid) {
				out = append(out, atv.Value.(string))
			}
		}
	}
	return out
}

// attrTypes returns the attribute types of a DER name in encoding order.
func attrTypes(t *testing.T, rawName []byte) []string {
	t.Helper()
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(rawName, &rdns); err != nil {
		t.Fatalf("parse name: %v", err)
	}
	names := map[string]string{
		x509cns.OIDCountry.String(): "C", x509cns.OIDOrganization.String(): "O",
		x509cns.OIDOrganizationalUnit.String(): "OU", x509cns.OIDCommonName.String(): "CN",
		x509cns.OIDSurname.String(): "SN", x509cns.OIDGivenName.String(): "GN",
		x509cns.OIDSerialNumber.String(): "serialNumber", x509cns.OIDDNQualifier.String(): "dnQualifier",
	}
	var out []string
	for _, rdn := range rdns {
		for _, atv := range rdn {
			out = append(out, names[atv.Type.String()])
		}
	}
	return out
}

func extension(cert *x509.Certificate, oid asn1.ObjectIdentifier) (pkix.Extension, bool) {
	for _, e := range cert.Extensions {
		if e.Id.Equal(oid) {
			return e, true
		}
	}
	return pkix.Extension{}, false
}

func policiesOf(t *testing.T, cert *x509.Certificate) []cnstest.Policy {
	t.Helper()
	ext, ok := extension(cert, oidPolicies)
	if !ok {
		return nil
	}
	ps, err := cnstest.ParsePolicies(ext.Value)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func verify(card *cnstest.Card, roots *x509.CertPool) error {
	_, err := card.Cert.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: card.Intermediates(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return err
}
