package cnstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// The RFC 6960 structures, written out here rather than taken from
// x/crypto/ocsp because its CreateResponse cannot put the nonce in
// responseExtensions, take producedAt from an injected clock, identify the
// responder by key, or answer several requests, and its ParseRequest drops
// the request extensions.

var (
	oidOCSPBasic   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidOCSPNonce   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidSHA1WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// OCSP response statuses (RFC 6960 §4.2.1), the values of ocsp.ResponseStatus.
const (
	ocspMalformedRequest = 1
	ocspUnauthorized     = 6
)

type ocspRequest struct {
	TBS       tbsRequest
	Signature asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type tbsRequest struct {
	Version       int           `asn1:"explicit,tag:0,default:0,optional"`
	RequestorName asn1.RawValue `asn1:"explicit,tag:1,optional"`
	RequestList   []singleRequest
	Extensions    []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type singleRequest struct {
	CertID     certID
	Extensions []pkix.Extension `asn1:"explicit,tag:0,optional"`
}

type certID struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	KeyHash       []byte
	SerialNumber  *big.Int
}

type ocspResponse struct {
	Status   asn1.Enumerated
	Response responseBytes `asn1:"explicit,tag:0,optional"`
}

type responseBytes struct {
	Type     asn1.ObjectIdentifier
	Response []byte
}

type basicResponse struct {
	TBS          asn1.RawValue
	SignatureAlg pkix.AlgorithmIdentifier
	Signature    asn1.BitString
	Certs        []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type responseData struct {
	Version     int `asn1:"optional,default:0,explicit,tag:0"`
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []singleResponse
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type singleResponse struct {
	CertID     certID
	Good       asn1.Flag   `asn1:"tag:0,optional"`
	Revoked    revokedInfo `asn1:"tag:1,optional"`
	Unknown    asn1.Flag   `asn1:"tag:2,optional"`
	ThisUpdate time.Time   `asn1:"generalized"`
	NextUpdate time.Time   `asn1:"generalized,explicit,tag:0,optional"`
}

type revokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

// parseOCSPRequest decodes an unsigned or signed request (the signature is
// not checked: no client here signs).
func parseOCSPRequest(der []byte) (*ocspRequest, error) {
	var req ocspRequest
	rest, err := asn1.Unmarshal(der, &req)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, errors.New("trailing data after OCSP request")
	}
	if len(req.TBS.RequestList) == 0 {
		return nil, errors.New("OCSP request lists no certificate")
	}
	return &req, nil
}

// nonce returns the request's nonce extension, if any.
func (r *ocspRequest) nonce() (pkix.Extension, bool) {
	for _, ext := range r.TBS.Extensions {
		if ext.Id.Equal(oidOCSPNonce) {
			return ext, true
		}
	}
	return pkix.Extension{}, false
}

func hashForOID(oid asn1.ObjectIdentifier) crypto.Hash {
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1
	case oid.Equal(oidSHA256):
		return crypto.SHA256
	case oid.Equal(oidSHA384):
		return crypto.SHA384
	case oid.Equal(oidSHA512):
		return crypto.SHA512
	}
	return 0
}

// matchesIssuer reports whether id names cert as issuer: the hash of its
// DER subject and of its subjectPublicKey BIT STRING contents.
func matchesIssuer(id certID, cert *x509.Certificate) bool {
	h := hashForOID(id.HashAlgorithm.Algorithm)
	if h == 0 || !h.Available() {
		return false
	}
	key, err := subjectPublicKeyBits(cert)
	if err != nil {
		return false
	}
	nh := h.New()
	nh.Write(cert.RawSubject)
	kh := h.New()
	kh.Write(key)
	return string(nh.Sum(nil)) == string(id.NameHash) && string(kh.Sum(nil)) == string(id.KeyHash)
}

func subjectPublicKeyBits(cert *x509.Certificate) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, err
	}
	return spki.PublicKey.RightAlign(), nil
}

// responderID encodes the ResponderID CHOICE: byName [1] or byKey [2].
func responderID(cert *x509.Certificate, byKey bool) (asn1.RawValue, error) {
	if !byKey {
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: cert.RawSubject}, nil
	}
	key, err := subjectPublicKeyBits(cert)
	if err != nil {
		return asn1.RawValue{}, err
	}
	sum := sha1.Sum(key)
	inner, err := asn1.Marshal(sum[:])
	if err != nil {
		return asn1.RawValue{}, err
	}
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: inner}, nil
}

// signResponse signs data with key and wraps it into a successful
// OCSPResponse carrying certs.
func signResponse(data responseData, key crypto.Signer, alg x509.SignatureAlgorithm, certs []*x509.Certificate, rnd io.Reader) ([]byte, error) {
	tbs, err := asn1.Marshal(data)
	if err != nil {
		return nil, err
	}
	var (
		h      crypto.Hash
		sigOID asn1.ObjectIdentifier
		params = asn1.NullRawValue
	)
	switch key.Public().(type) {
	case *rsa.PublicKey:
		h, sigOID = crypto.SHA256, oidSHA256WithRSA
		if alg == x509.SHA1WithRSA {
			h, sigOID = crypto.SHA1, oidSHA1WithRSA
		}
	case *ecdsa.PublicKey:
		h, sigOID, params = crypto.SHA256, oidECDSAWithSHA256, asn1.RawValue{}
	default:
		return nil, fmt.Errorf("cnstest: OCSP signing with %T is not supported", key.Public())
	}
	digest := h.New()
	digest.Write(tbs)
	sig, err := key.Sign(rnd, digest.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("cnstest: sign OCSP response: %w", err)
	}
	basic := basicResponse{
		TBS:          asn1.RawValue{FullBytes: tbs},
		SignatureAlg: pkix.AlgorithmIdentifier{Algorithm: sigOID, Parameters: params},
		Signature:    asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	}
	for _, c := range certs {
		basic.Certs = append(basic.Certs, asn1.RawValue{FullBytes: c.Raw})
	}
	basicDER, err := asn1.Marshal(basic)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(ocspResponse{Response: responseBytes{Type: oidOCSPBasic, Response: basicDER}})
}

// errorResponse is an OCSPResponse with a non-successful status and no body.
func errorResponse(status int) []byte {
	b, _ := asn1.Marshal(ocspResponse{Status: asn1.Enumerated(status)})
	return b
}

// ResponseNonce returns the nonce extension value (the DER OCTET STRING
// as the client sent it) from the responseExtensions of a DER OCSP
// response, or nil. x/crypto/ocsp exposes only the singleExtensions, so
// tests of the nonce need this.
func ResponseNonce(der []byte) ([]byte, error) {
	var resp ocspResponse
	if _, err := asn1.Unmarshal(der, &resp); err != nil {
		return nil, fmt.Errorf("cnstest: OCSP response: %w", err)
	}
	var basic basicResponse
	if _, err := asn1.Unmarshal(resp.Response.Response, &basic); err != nil {
		return nil, fmt.Errorf("cnstest: BasicOCSPResponse: %w", err)
	}
	var data responseData
	if _, err := asn1.Unmarshal(basic.TBS.FullBytes, &data); err != nil {
		return nil, fmt.Errorf("cnstest: ResponseData: %w", err)
	}
	for _, ext := range data.Extensions {
		if ext.Id.Equal(oidOCSPNonce) {
			return ext.Value, nil
		}
	}
	return nil, nil
}

// NewOCSPRequest builds a DER OCSPRequest for cert issued by issuer, with
// CertID hashes made with h (crypto.SHA1 as most clients do, or SHA-256)
// and, when nonce is not nil, a nonce extension whose value is the DER
// OCTET STRING of nonce (RFC 8954). x/crypto/ocsp cannot add the nonce.
func NewOCSPRequest(cert, issuer *x509.Certificate, h crypto.Hash, nonce []byte) ([]byte, error) {
	var hashOID asn1.ObjectIdentifier
	for _, oid := range []asn1.ObjectIdentifier{oidSHA1, oidSHA256, oidSHA384, oidSHA512} {
		if hashForOID(oid) == h {
			hashOID = oid
		}
	}
	if hashOID == nil || !h.Available() {
		return nil, fmt.Errorf("cnstest: unsupported OCSP CertID hash %v", h)
	}
	key, err := subjectPublicKeyBits(issuer)
	if err != nil {
		return nil, err
	}
	nh, kh := h.New(), h.New()
	nh.Write(issuer.RawSubject)
	kh.Write(key)
	req := ocspRequest{TBS: tbsRequest{RequestList: []singleRequest{{CertID: certID{
		HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: hashOID, Parameters: asn1.NullRawValue},
		NameHash:      nh.Sum(nil),
		KeyHash:       kh.Sum(nil),
		SerialNumber:  cert.SerialNumber,
	}}}}}
	if nonce != nil {
		value, err := asn1.Marshal(nonce)
		if err != nil {
			return nil, err
		}
		req.TBS.Extensions = []pkix.Extension{{Id: oidOCSPNonce, Value: value}}
	}
	return asn1.Marshal(req)
}
