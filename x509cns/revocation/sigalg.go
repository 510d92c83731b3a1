package revocation

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// signatureAlgorithms maps signature AlgorithmIdentifier OIDs to
// crypto/x509's constants, for OCSP responses (CRLs get theirs from
// crypto/x509 directly). MD5 and DSA are left out on purpose.
var signatureAlgorithms = []struct {
	oid asn1.ObjectIdentifier
	alg x509.SignatureAlgorithm
}{
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}, x509.SHA1WithRSA},
	{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 29}, x509.SHA1WithRSA},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, x509.SHA256WithRSA},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, x509.SHA384WithRSA},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, x509.SHA512WithRSA},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}, x509.ECDSAWithSHA1},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, x509.ECDSAWithSHA256},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, x509.ECDSAWithSHA384},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, x509.ECDSAWithSHA512},
	{asn1.ObjectIdentifier{1, 3, 101, 112}, x509.PureEd25519},
}

var oidRSAPSS = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}

// The RSASSA-PSS parameters crypto/x509 accepts (RFC 4055: MGF1 with the
// same hash, salt length = hash length, trailer 1), in DER.
var pssParams = []struct {
	der []byte
	alg x509.SignatureAlgorithm
}{
	{[]byte{48, 52, 160, 15, 48, 13, 6, 9, 96, 134, 72, 1, 101, 3, 4, 2, 1, 5, 0, 161, 28, 48, 26, 6, 9, 42, 134, 72, 134, 247, 13, 1, 1, 8, 48, 13, 6, 9, 96, 134, 72, 1, 101, 3, 4, 2, 1, 5, 0, 162, 3, 2, 1, 32}, x509.SHA256WithRSAPSS},
	{[]byte{48, 52, 160, 15, 48, 13, 6, 9, 96, 134, 72, 1, 101, 3, 4, 2, 2, 5, 0, 161, 28, 48, 26, 6, 9, 42, 134, 72, 134, 247, 13, 1, 1, 8, 48, 13, 6, 9, 96, 134, 72, 1, 101, 3, 4, 2, 2, 5, 0, 162, 3, 2, 1, 48}, x509.SHA384WithRSAPSS},
	{[]byte{48, 52, 160, 15, 48, 13, 6, 9, 96, 134, 72, 1, 101, 3, 4, 2, 3, 5, 0, 161, 28, 48, 26, 6, 9, 42, 134, 72, 134, 247, 13, 1, 1, 8, 48, 13, 6, 9, 96, 134, 72, 1, 101, 3, 4, 2, 3, 5, 0, 162, 3, 2, 1, 64}, x509.SHA512WithRSAPSS},
}

// signatureAlgorithm reads the contents of an AlgorithmIdentifier SEQUENCE.
func signatureAlgorithm(ai cryptobyte.String) x509.SignatureAlgorithm {
	var oid asn1.ObjectIdentifier
	if !ai.ReadASN1ObjectIdentifier(&oid) {
		return x509.UnknownSignatureAlgorithm
	}
	params := []byte(ai)
	if oid.Equal(oidRSAPSS) {
		for _, p := range pssParams {
			if bytes.Equal(params, p.der) {
				return p.alg
			}
		}
		return x509.UnknownSignatureAlgorithm
	}
	for _, s := range signatureAlgorithms {
		if oid.Equal(s.oid) {
			if s.alg == x509.PureEd25519 && len(params) != 0 {
				return x509.UnknownSignatureAlgorithm
			}
			return s.alg
		}
	}
	return x509.UnknownSignatureAlgorithm
}

// subjectKeyBits returns the subjectPublicKey BIT STRING contents of a
// certificate: what an OCSP CertID's issuerKeyHash is computed over.
func subjectKeyBits(cert *x509.Certificate) ([]byte, bool) {
	spki := cryptobyte.String(cert.RawSubjectPublicKeyInfo)
	var seq, alg cryptobyte.String
	var key asn1.BitString
	if !spki.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1(&alg, cbasn1.SEQUENCE) || !seq.ReadASN1BitString(&key) {
		return nil, false
	}
	return key.RightAlign(), true
}
