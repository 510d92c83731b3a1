package revocation

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The RFC 6960 request and response, written with cryptobyte: the request
// because x/crypto/ocsp cannot add a nonce, the response because
// x/crypto/ocsp neither exposes responseExtensions (where the nonce is
// echoed) nor the CertID hashes, and stops at the first certificate.

var (
	oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidSHA1      = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// OCSP response statuses (RFC 6960 §4.2.1).
const (
	ocspSuccessful    = 0
	ocspInternalError = 2
	ocspTryLater      = 3
)

// certStatus values of a SingleResponse.
const (
	certGood = iota
	certRevoked
	certUnknown
)

func hashOID(h crypto.Hash) asn1.ObjectIdentifier {
	switch h {
	case crypto.SHA1:
		return oidSHA1
	case crypto.SHA256:
		return oidSHA256
	case crypto.SHA384:
		return oidSHA384
	case crypto.SHA512:
		return oidSHA512
	}
	return nil
}

func hashFromOID(oid asn1.ObjectIdentifier) crypto.Hash {
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		if oid.Equal(hashOID(h)) {
			return h
		}
	}
	return 0
}

// issuerHashes returns the CertID hashes of issuer with h.
func issuerHashes(issuer *x509.Certificate, h crypto.Hash) (name, key []byte, ok bool) {
	bits, ok := subjectKeyBits(issuer)
	if !ok || !h.Available() {
		return nil, nil, false
	}
	nh, kh := h.New(), h.New()
	nh.Write(issuer.RawSubject)
	kh.Write(bits)
	return nh.Sum(nil), kh.Sum(nil), true
}

// buildOCSPRequest encodes an OCSPRequest for one certificate, with a
// nonce extension (extnValue = DER OCTET STRING of nonce) when nonce is
// not nil.
func buildOCSPRequest(issuer *x509.Certificate, serial *big.Int, h crypto.Hash, nonce []byte) ([]byte, error) {
	name, key, ok := issuerHashes(issuer, h)
	if !ok {
		return nil, unsupported("cannot hash the issuer key for OCSP")
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // OCSPRequest
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // TBSRequest
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // requestList
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // Request
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // CertID
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1ObjectIdentifier(hashOID(h))
							b.AddASN1NULL()
						})
						b.AddASN1OctetString(name)
						b.AddASN1OctetString(key)
						b.AddASN1BigInt(serial)
					})
				})
			})
			if nonce != nil {
				b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1ObjectIdentifier(oidOCSPNonce)
							b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
								b.AddASN1OctetString(nonce)
							})
						})
					})
				})
			}
		})
	})
	return b.Bytes()
}

// ocspResponse is a parsed, not yet verified, OCSP response.
type ocspResponse struct {
	status    int // responseStatus; the other fields are set only when 0
	tbs       []byte
	sigAlg    x509.SignatureAlgorithm
	signature []byte
	certs     []*x509.Certificate
	singles   []ocspSingle
	nonce     []byte // extnValue of the nonce extension
	hasNonce  bool
}

type ocspSingle struct {
	hash                   crypto.Hash
	nameHash, keyHash      []byte
	serial                 *big.Int
	status                 int
	revokedAt              time.Time
	reason                 int
	thisUpdate, nextUpdate time.Time
}

var (
	tagExplicit0 = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagExplicit1 = cbasn1.Tag(1).Constructed().ContextSpecific()
)

// parseOCSPResponse reads a DER OCSPResponse with a BasicOCSPResponse.
func parseOCSPResponse(der []byte) (*ocspResponse, error) {
	in := cryptobyte.String(der)
	var resp, rb, rbSeq, basicOctets, basic, tbs, sigAI cryptobyte.String
	var status int
	if !in.ReadASN1(&resp, cbasn1.SEQUENCE) || !in.Empty() || !resp.ReadASN1Enum(&status) {
		return nil, malformed("not an OCSP response")
	}
	if status != ocspSuccessful {
		return &ocspResponse{status: status}, nil
	}
	var typ asn1.ObjectIdentifier
	if !resp.ReadASN1(&rb, tagExplicit0) || !rb.ReadASN1(&rbSeq, cbasn1.SEQUENCE) ||
		!rbSeq.ReadASN1ObjectIdentifier(&typ) || !rbSeq.ReadASN1(&basicOctets, cbasn1.OCTET_STRING) {
		return nil, malformed("OCSP responseBytes")
	}
	if !typ.Equal(oidOCSPBasic) {
		return nil, unsupported("OCSP response type %v", typ)
	}
	var sig asn1.BitString
	if !basicOctets.ReadASN1(&basic, cbasn1.SEQUENCE) || !basic.ReadASN1Element(&tbs, cbasn1.SEQUENCE) ||
		!basic.ReadASN1(&sigAI, cbasn1.SEQUENCE) || !basic.ReadASN1BitString(&sig) {
		return nil, malformed("BasicOCSPResponse")
	}
	certs, err := readOCSPCerts(&basic)
	if err != nil {
		return nil, err
	}
	r := &ocspResponse{tbs: tbs, sigAlg: signatureAlgorithm(sigAI), signature: sig.RightAlign(), certs: certs}
	return r, r.parseData(tbs)
}

// readOCSPCerts reads the optional certs of a BasicOCSPResponse: the
// responder's certificate, when the issuer delegates.
func readOCSPCerts(basic *cryptobyte.String) ([]*x509.Certificate, error) {
	var certsField, certs cryptobyte.String
	var hasCerts bool
	if !basic.ReadOptionalASN1(&certsField, &hasCerts, tagExplicit0) {
		return nil, malformed("OCSP certs")
	}
	if !hasCerts {
		return nil, nil
	}
	if !certsField.ReadASN1(&certs, cbasn1.SEQUENCE) {
		return nil, malformed("OCSP certs")
	}
	var out []*x509.Certificate
	for !certs.Empty() {
		var c cryptobyte.String
		if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
			return nil, malformed("OCSP certs")
		}
		cert, err := x509.ParseCertificate(c)
		if err != nil {
			return nil, malformed("OCSP responder certificate: %v", err)
		}
		out = append(out, cert)
	}
	return out, nil
}

// parseData reads ResponseData. The responderID is skipped: the signature
// alone decides who signed (see verifyOCSPSigner).
func (r *ocspResponse) parseData(tbs cryptobyte.String) error {
	var data, responderID, list, extsField cryptobyte.String
	var tag cbasn1.Tag
	var producedAt time.Time
	var hasExts bool
	if !tbs.ReadASN1(&data, cbasn1.SEQUENCE) || !data.SkipOptionalASN1(tagExplicit0) ||
		!data.ReadAnyASN1Element(&responderID, &tag) || !data.ReadASN1GeneralizedTime(&producedAt) ||
		!data.ReadASN1(&list, cbasn1.SEQUENCE) || !data.ReadOptionalASN1(&extsField, &hasExts, tagExplicit1) {
		return malformed("OCSP ResponseData")
	}
	for !list.Empty() {
		var single cryptobyte.String
		if !list.ReadASN1(&single, cbasn1.SEQUENCE) {
			return malformed("OCSP SingleResponse")
		}
		s, err := parseSingle(single)
		if err != nil {
			return err
		}
		r.singles = append(r.singles, s)
	}
	if !hasExts {
		return nil
	}
	return walkExtensions(extsField, func(oid asn1.ObjectIdentifier, critical bool, value []byte) error {
		if oid.Equal(oidOCSPNonce) {
			r.nonce, r.hasNonce = value, true
			return nil
		}
		if critical {
			return unsupported("unknown critical OCSP response extension %v", oid)
		}
		return nil
	})
}

func parseSingle(single cryptobyte.String) (ocspSingle, error) {
	var s ocspSingle
	var id, alg, statusField, extsField cryptobyte.String
	var oid asn1.ObjectIdentifier
	var tag cbasn1.Tag
	var hasExts bool
	s.serial = new(big.Int)
	if !single.ReadASN1(&id, cbasn1.SEQUENCE) || !id.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&oid) || !id.ReadASN1Bytes(&s.nameHash, cbasn1.OCTET_STRING) ||
		!id.ReadASN1Bytes(&s.keyHash, cbasn1.OCTET_STRING) || !id.ReadASN1Integer(s.serial) ||
		!single.ReadAnyASN1(&statusField, &tag) {
		return s, malformed("OCSP CertID")
	}
	s.hash = hashFromOID(oid)
	if err := s.readStatus(tag, statusField); err != nil {
		return s, err
	}
	if !s.readTimes(&single) || !single.ReadOptionalASN1(&extsField, &hasExts, tagExplicit1) {
		return s, malformed("OCSP SingleResponse times")
	}
	if hasExts {
		if err := checkSingleExtensions(extsField); err != nil {
			return s, err
		}
	}
	return s, nil
}

// readTimes reads thisUpdate and the optional nextUpdate.
func (s *ocspSingle) readTimes(single *cryptobyte.String) bool {
	var next cryptobyte.String
	var hasNext bool
	return single.ReadASN1GeneralizedTime(&s.thisUpdate) && single.ReadOptionalASN1(&next, &hasNext, tagExplicit0) &&
		(!hasNext || next.ReadASN1GeneralizedTime(&s.nextUpdate))
}

// readStatus reads certStatus, whose tag says good, revoked or unknown.
func (s *ocspSingle) readStatus(tag cbasn1.Tag, field cryptobyte.String) error {
	switch tag {
	case cbasn1.Tag(0).ContextSpecific():
		s.status = certGood
	case cbasn1.Tag(1).Constructed().ContextSpecific():
		s.status = certRevoked
		var reason cryptobyte.String
		var hasReason bool
		if !field.ReadASN1GeneralizedTime(&s.revokedAt) ||
			!field.ReadOptionalASN1(&reason, &hasReason, tagExplicit0) ||
			hasReason && !reason.ReadASN1Enum(&s.reason) {
			return malformed("OCSP RevokedInfo")
		}
	case cbasn1.Tag(2).ContextSpecific():
		s.status = certUnknown
	default:
		return malformed("OCSP certStatus")
	}
	return nil
}

// checkSingleExtensions refuses a critical extension of a SingleResponse:
// none is understood.
func checkSingleExtensions(exts cryptobyte.String) error {
	return walkExtensions(exts, func(oid asn1.ObjectIdentifier, critical bool, _ []byte) error {
		if critical {
			return unsupported("unknown critical OCSP single extension %v", oid)
		}
		return nil
	})
}

// walkExtensions calls fn for each Extension of the SEQUENCE in field.
func walkExtensions(field cryptobyte.String, fn func(oid asn1.ObjectIdentifier, critical bool, value []byte) error) error {
	var exts cryptobyte.String
	if !field.ReadASN1(&exts, cbasn1.SEQUENCE) {
		return malformed("extensions")
	}
	for !exts.Empty() {
		var ext, value cryptobyte.String
		var oid asn1.ObjectIdentifier
		critical := false
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) ||
			ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical) ||
			!ext.ReadASN1(&value, cbasn1.OCTET_STRING) {
			return malformed("extension")
		}
		if err := fn(oid, critical, value); err != nil {
			return err
		}
	}
	return nil
}

// nonceEchoed reports whether an echoed extnValue carries nonce: wrapped
// in an OCTET STRING as RFC 8954 says, or bare as some old responders do.
func nonceEchoed(value, nonce []byte) bool {
	if bytes.Equal(value, nonce) {
		return true
	}
	v := cryptobyte.String(value)
	var inner cryptobyte.String
	return v.ReadASN1(&inner, cbasn1.OCTET_STRING) && v.Empty() && bytes.Equal(inner, nonce)
}
