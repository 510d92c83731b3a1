package revocation

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// parsedCRL is a CRL read by parseCRL. tbs and signature point into the
// input and are dropped once the signature has been checked.
type parsedCRL struct {
	rawIssuer  []byte
	issuerCN   string
	authKeyID  []byte
	number     *big.Int // nil when the CRL has no CRL number
	thisUpdate time.Time
	nextUpdate time.Time // zero when absent
	// scope lists the URIs of an issuingDistributionPoint: the CRL covers
	// only certificates naming one of them. Empty: a complete CRL.
	scope []string
	v1    bool // no version field
	table *serialTable

	tbs, signature []byte
	sigAlg         x509.SignatureAlgorithm
}

// Extension OIDs, as DER elements for the per-entry fast path.
var (
	derReasonCode        = []byte{0x06, 0x03, 0x55, 0x1d, 0x15}
	derInvalidityDate    = []byte{0x06, 0x03, 0x55, 0x1d, 0x18}
	derCertificateIssuer = []byte{0x06, 0x03, 0x55, 0x1d, 0x1d}

	oidAuthorityKeyID = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLNumber      = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidDeltaCRL       = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidIssuingDP      = asn1.ObjectIdentifier{2, 5, 29, 28}
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// parseCRL reads a DER CRL (v1 or v2) in one pass over the entries.
//
// The header, everything but revokedCertificates, is copied into a small
// skeleton CRL and read by x509.ParseRevocationList, so names, algorithm
// identifiers, times and extensions are accepted exactly as crypto/x509
// accepts them. The entries, the bulk, are read here with cryptobyte with
// the same rules crypto/x509 applies to them, straight into a serialTable.
// Beyond crypto/x509 it accepts v1 CRLs (no version field) and refuses,
// with ErrUnsupported: unknown critical extensions on the CRL or an entry,
// indirect CRLs (certificateIssuer, indirectCRL), delta CRLs, partitions
// by reason or for CA or attribute certificates, and reason codes above
// 255.
func parseCRL(der []byte) (*parsedCRL, error) {
	parts, err := splitCRL(der)
	if err != nil {
		return nil, err
	}
	skeleton, err := parts.skeleton()
	if err != nil {
		return nil, malformed("%v", err)
	}
	rl, err := x509.ParseRevocationList(skeleton)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	table, err := parseEntries(parts.revoked)
	if err != nil {
		return nil, err
	}
	p := &parsedCRL{
		rawIssuer:  bytes.Clone(rl.RawIssuer),
		issuerCN:   rl.Issuer.CommonName,
		authKeyID:  bytes.Clone(rl.AuthorityKeyId),
		number:     rl.Number,
		thisUpdate: rl.ThisUpdate,
		nextUpdate: rl.NextUpdate,
		v1:         parts.v1,
		table:      table,
		tbs:        parts.tbsElem,
		signature:  rl.Signature,
		sigAlg:     rl.SignatureAlgorithm,
	}
	if p.scope, err = crlScope(rl.Extensions); err != nil {
		return nil, err
	}
	return p, nil
}

// crlParts is a CRL cut around its revokedCertificates, which parseEntries
// reads apart from the rest.
type crlParts struct {
	crl      cryptobyte.String // what follows tbsCertList: algorithm and signature
	tbsElem  cryptobyte.String // tbsCertList with its header, as signed
	tbs      cryptobyte.String // tbsCertList's content
	revoked  cryptobyte.String // revokedCertificates' content
	revStart int               // where revokedCertificates starts in tbs
	revEnd   int               // and where it ends
	v1       bool              // no version field
}

// splitCRL finds the parts of a DER CRL, checking the header fields only
// for their shape: crypto/x509 reads them from the skeleton.
func splitCRL(der []byte) (crlParts, error) {
	var c crlParts
	input := cryptobyte.String(der)
	if !input.ReadASN1(&c.crl, cbasn1.SEQUENCE) || !c.crl.ReadASN1Element(&c.tbsElem, cbasn1.SEQUENCE) {
		return c, malformed("not a DER CRL")
	}
	c.tbs = c.tbsElem
	if !c.tbs.ReadASN1(&c.tbs, cbasn1.SEQUENCE) {
		return c, malformed("tbsCertList")
	}
	body := c.tbs
	c.v1 = body.PeekASN1Tag(cbasn1.SEQUENCE)
	var skip cryptobyte.String
	var tag cbasn1.Tag
	if !c.v1 && !body.ReadASN1Element(&skip, cbasn1.INTEGER) {
		return c, malformed("CRL version")
	}
	// The signature AlgorithmIdentifier, then the issuer Name, then thisUpdate.
	sigAlgOK := body.ReadASN1Element(&skip, cbasn1.SEQUENCE)
	issuerOK := sigAlgOK && body.ReadASN1Element(&skip, cbasn1.SEQUENCE)
	if !issuerOK || !body.ReadAnyASN1Element(&skip, &tag) || tag != cbasn1.UTCTime && tag != cbasn1.GeneralizedTime {
		return c, malformed("CRL header")
	}
	if body.PeekASN1Tag(cbasn1.UTCTime) || body.PeekASN1Tag(cbasn1.GeneralizedTime) {
		body.ReadAnyASN1Element(&skip, &tag)
	}
	c.revStart = len(c.tbs) - len(body)
	if body.PeekASN1Tag(cbasn1.SEQUENCE) && !body.ReadASN1(&c.revoked, cbasn1.SEQUENCE) {
		return c, malformed("revokedCertificates")
	}
	c.revEnd = len(c.tbs) - len(body)
	return c, nil
}

// skeleton is the same CRL with an empty revokedCertificates (and a
// version field for v1), so that crypto/x509 reads the rest as usual.
func (c crlParts) skeleton() ([]byte, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, len(c.tbs)-(c.revEnd-c.revStart)+len(c.crl)+16))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if c.v1 {
				b.AddBytes([]byte{0x02, 0x01, 0x01})
			}
			b.AddBytes(c.tbs[:c.revStart])
			if c.revEnd > c.revStart {
				b.AddBytes([]byte{0x30, 0x00})
			}
			b.AddBytes(c.tbs[c.revEnd:])
		})
		b.AddBytes(c.crl)
	})
	return b.Bytes()
}

// crlScope checks the CRL's extensions and returns the URIs of its
// issuingDistributionPoint, if any.
func crlScope(exts []pkix.Extension) ([]string, error) {
	var scope []string
	for _, ext := range exts {
		switch {
		case ext.Id.Equal(oidAuthorityKeyID), ext.Id.Equal(oidCRLNumber):
		case ext.Id.Equal(oidIssuingDP):
			var err error
			if scope, err = parseIssuingDP(ext.Value); err != nil {
				return nil, err
			}
		case ext.Id.Equal(oidDeltaCRL):
			return nil, unsupported("delta CRL")
		case ext.Critical:
			return nil, unsupported("unknown critical CRL extension %v", ext.Id)
		}
	}
	return scope, nil
}

// checkSignatureFrom verifies the CRL's signature over the raw TBS bytes
// with issuer's key (crypto/x509 also checks that issuer is a CA allowed to
// sign CRLs), then lets go of the input.
func (p *parsedCRL) checkSignatureFrom(issuer *x509.Certificate) error {
	rl := &x509.RevocationList{RawTBSRevocationList: p.tbs, Signature: p.signature, SignatureAlgorithm: p.sigAlg}
	if err := rl.CheckSignatureFrom(issuer); err != nil {
		return fmt.Errorf("%w: CRL of %q checked with %q: %v", ErrBadSignature, p.issuerCN, issuer.Subject.CommonName, err)
	}
	return nil
}

// parseIssuingDP reads an issuingDistributionPoint (RFC 5280 §5.2.5) and
// returns the URIs that scope the CRL, refusing every scope other than a
// plain partition of end-entity certificates.
func parseIssuingDP(value []byte) ([]string, error) {
	val := cryptobyte.String(value)
	var idp, dpn cryptobyte.String
	var hasDPN bool
	if !val.ReadASN1(&idp, cbasn1.SEQUENCE) ||
		!idp.ReadOptionalASN1(&dpn, &hasDPN, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, malformed("issuingDistributionPoint")
	}
	var uris []string
	if hasDPN {
		var err error
		if uris, err = idpURIs(dpn); err != nil {
			return nil, err
		}
	}
	if err := checkIDPFlags(idp); err != nil {
		return nil, err
	}
	return uris, nil
}

// idpURIs returns the URIs of an issuingDistributionPoint's
// distributionPoint, which must be a fullName holding one at least.
func idpURIs(dpn cryptobyte.String) ([]string, error) {
	var full cryptobyte.String
	if !dpn.ReadASN1(&full, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, unsupported("issuingDistributionPoint without a fullName")
	}
	var uris []string
	for !full.Empty() {
		var v cryptobyte.String
		var tag cbasn1.Tag
		if !full.ReadAnyASN1(&v, &tag) {
			return nil, malformed("issuingDistributionPoint name")
		}
		if tag == cbasn1.Tag(6).ContextSpecific() {
			uris = append(uris, string(v))
		}
	}
	if len(uris) == 0 {
		return nil, unsupported("issuingDistributionPoint without a URI")
	}
	return uris, nil
}

// checkIDPFlags refuses an issuingDistributionPoint whose flags scope the
// CRL to anything but end-entity certificates of one issuer.
func checkIDPFlags(idp cryptobyte.String) error {
	for !idp.Empty() {
		var v cryptobyte.String
		var tag cbasn1.Tag
		if !idp.ReadAnyASN1(&v, &tag) {
			return malformed("issuingDistributionPoint flags")
		}
		set := len(v) == 1 && v[0] != 0
		switch tag {
		case cbasn1.Tag(1).ContextSpecific(): // onlyContainsUserCerts: covers cards
		case cbasn1.Tag(2).ContextSpecific(), cbasn1.Tag(5).ContextSpecific():
			if set {
				return unsupported("CRL only for CA or attribute certificates")
			}
		case cbasn1.Tag(4).ContextSpecific():
			if set {
				return unsupported("indirect CRL")
			}
		case cbasn1.Tag(3).ContextSpecific(), cbasn1.Tag(3).Constructed().ContextSpecific():
			return unsupported("CRL partitioned by reason")
		default:
			return malformed("issuingDistributionPoint field %v", tag)
		}
	}
	return nil
}
