package cnstest

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
)

// OCSPOptions shapes an OCSPResponder. The zero value is a well-behaved
// responder signing with the CA's own key.
type OCSPOptions struct {
	// Delegated signs with a responder certificate the CA issues for the
	// purpose (EKU id-kp-OCSPSigning, id-pkix-ocsp-nocheck), included in
	// every response.
	Delegated bool
	// UnauthorizedSigner signs with a responder certificate issued by an
	// impostor CA with the same name as the real one and another key,
	// included in every response: a client must refuse it.
	UnauthorizedSigner bool
	// ResponderIDByKey identifies the signer by key hash instead of by name.
	ResponderIDByKey bool
	// AnswerSerial, if set, is the serial every answer is about, whatever
	// was asked (a response for the wrong certificate).
	AnswerSerial *big.Int
	// ThisUpdate and NextUpdate, if set, are used as they are (and
	// producedAt = ThisUpdate): a replayed or stale response.
	ThisUpdate, NextUpdate time.Time
	// Validity is nextUpdate − thisUpdate for fresh answers (default 1h);
	// negative leaves nextUpdate out.
	Validity time.Duration
	// NoNonce ignores a nonce in the request instead of echoing it.
	NoNonce bool
	// Delay holds each answer back (the request context still ends it).
	Delay time.Duration
	// HTTPStatus, if set and not 200, is returned with an empty body.
	HTTPStatus int
	// ResponseStatus, if set, is returned as an unsigned OCSP error
	// response (ocsp.TryLater, ocsp.Unauthorized, ...).
	ResponseStatus int
}

// OCSPResponder answers RFC 6960 requests about the certificates of one CA,
// by GET (<prefix>/<url-escaped base64 DER>) and by POST
// (application/ocsp-request): good for certificates the CA issued, revoked
// for those passed to Revoke, unknown for any other serial, and
// "unauthorized" when the request names another issuer. It echoes the
// nonce in responseExtensions. Safe for concurrent use.
//
// Base64 may hold "//": under an http.ServeMux the GET path must be
// escaped (url.PathEscape, as RFC 5019 asks), or the mux redirects to a
// cleaned, corrupted path. Mounted directly, raw paths work too.
type OCSPResponder struct {
	ca       *CA
	mu       sync.Mutex
	opts     OCSPOptions
	signers  map[bool]*ocspSigner // by opts.UnauthorizedSigner, for delegated signers
	requests atomic.Int64
}

var _ http.Handler = (*OCSPResponder)(nil)

type ocspSigner struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// OCSPResponder returns a responder for ca. The responder certificates of
// the Delegated and UnauthorizedSigner modes are made here or on first
// SetOptions that needs them.
func (ca *CA) OCSPResponder(opts OCSPOptions) (*OCSPResponder, error) {
	r := &OCSPResponder{ca: ca, signers: map[bool]*ocspSigner{}}
	if err := r.SetOptions(opts); err != nil {
		return nil, err
	}
	return r, nil
}

// SetOptions changes the behaviour for later requests.
func (r *OCSPResponder) SetOptions(opts OCSPOptions) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if opts.Delegated || opts.UnauthorizedSigner {
		if _, ok := r.signers[opts.UnauthorizedSigner]; !ok {
			s, err := r.ca.newResponderSigner(opts.UnauthorizedSigner)
			if err != nil {
				return err
			}
			r.signers[opts.UnauthorizedSigner] = s
		}
	}
	r.opts = opts
	return nil
}

// Requests returns how many HTTP requests the responder has received.
func (r *OCSPResponder) Requests() int { return int(r.requests.Load()) }

// ResponderCert returns the delegated responder certificate in use, or nil
// when the CA signs itself.
func (r *OCSPResponder) ResponderCert() *x509.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.signer(r.opts); s != nil {
		return s.cert
	}
	return nil
}

func (r *OCSPResponder) signer(opts OCSPOptions) *ocspSigner {
	if !opts.Delegated && !opts.UnauthorizedSigner {
		return nil
	}
	return r.signers[opts.UnauthorizedSigner]
}

// newResponderSigner issues a delegated OCSP responder certificate from ca
// or, when impostor is set, from a throwaway CA bearing ca's exact subject.
func (ca *CA) newResponderSigner(impostor bool) (*ocspSigner, error) {
	issuer := ca
	if impostor {
		key, err := SharedKey(2048, SharedKeys-1)
		if err != nil {
			return nil, err
		}
		fake := &CA{}
		cfg := caConfig{key: key, now: ca.Now, rand: ca.Rand, rawSubject: ca.Cert.RawSubject}
		if err := fake.create(nil, ca.Cert.Subject, ca.Cert.KeyUsage, 0, nil, cfg); err != nil {
			return nil, err
		}
		issuer = fake
	}
	slot := SharedKeys - 2
	if impostor {
		slot = SharedKeys - 3
	}
	key, err := SharedKey(2048, slot)
	if err != nil {
		return nil, err
	}
	noCheck := pkix.Extension{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}}
	now := ca.Now()
	cert, err := issuer.Issue(&x509.Certificate{
		Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: x509cns.OIDCountry, Value: "IT"},
			{Type: x509cns.OIDCommonName, Value: "OCSP Responder - " + ca.Cert.Subject.CommonName},
		}},
		NotBefore:             now.Add(-time.Hour).Truncate(time.Second),
		NotAfter:              now.AddDate(0, 3, 0).Truncate(time.Second),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		ExtraExtensions:       []pkix.Extension{noCheck},
		CRLDistributionPoints: []string{},
		OCSPServer:            []string{},
	}, key.Public())
	if err != nil {
		return nil, fmt.Errorf("cnstest: OCSP responder certificate: %w", err)
	}
	return &ocspSigner{cert: cert, key: key}, nil
}

// ServeHTTP answers OCSP requests.
func (r *OCSPResponder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	r.mu.Lock()
	opts := r.opts
	signer := r.signer(opts)
	r.mu.Unlock()

	var der []byte
	switch req.Method {
	case http.MethodGet:
		der = requestFromPath(req.URL)
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(req.Body, 64<<10))
		if err != nil {
			http.Error(w, "cannot read request", http.StatusBadRequest)
			return
		}
		der = body
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !sleep(req, opts.Delay) {
		return
	}
	if opts.HTTPStatus != 0 && opts.HTTPStatus != http.StatusOK {
		w.WriteHeader(opts.HTTPStatus)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	if opts.ResponseStatus != 0 {
		_, _ = w.Write(errorResponse(opts.ResponseStatus))
		return
	}
	parsed, err := parseOCSPRequest(der)
	if err != nil {
		_, _ = w.Write(errorResponse(ocspMalformedRequest))
		return
	}
	resp, err := r.respond(parsed, opts, signer)
	if err != nil {
		w.Header().Del("Content-Type")
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(resp)
}

// requestFromPath finds the base64 request in a GET path, whatever prefix
// the handler is mounted under: the base64 alphabet holds '/', so it tries
// every suffix after a '/'.
func requestFromPath(u *url.URL) []byte {
	p, err := url.PathUnescape(u.EscapedPath())
	if err != nil {
		return nil
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(p[i+1:], " ", "+"))
		if err != nil {
			continue
		}
		if _, err := parseOCSPRequest(b); err == nil {
			return b
		}
	}
	return nil
}

// respond builds the signed response to every CertID of req.
func (r *OCSPResponder) respond(req *ocspRequest, opts OCSPOptions, signer *ocspSigner) ([]byte, error) {
	ca := r.ca
	for _, sr := range req.TBS.RequestList {
		if !matchesIssuer(sr.CertID, ca.Cert) {
			return errorResponse(ocspUnauthorized), nil
		}
	}
	now := ca.Now().UTC().Truncate(time.Second)
	thisUpdate, nextUpdate, producedAt := now, time.Time{}, now
	if !opts.ThisUpdate.IsZero() {
		thisUpdate = opts.ThisUpdate.UTC().Truncate(time.Second)
		producedAt = thisUpdate
	}
	switch {
	case !opts.NextUpdate.IsZero():
		nextUpdate = opts.NextUpdate.UTC().Truncate(time.Second)
	case opts.Validity >= 0:
		validity := opts.Validity
		if validity == 0 {
			validity = time.Hour
		}
		nextUpdate = thisUpdate.Add(validity)
	}
	data := responseData{ProducedAt: producedAt}
	for _, sr := range req.TBS.RequestList {
		id := sr.CertID
		if opts.AnswerSerial != nil {
			id.SerialNumber = opts.AnswerSerial
		}
		single := singleResponse{CertID: id, ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
		if e, revoked := ca.Revocation(id.SerialNumber); revoked {
			single.Revoked = revokedInfo{RevocationTime: e.RevocationTime.UTC(), Reason: asn1.Enumerated(e.ReasonCode)}
		} else if ca.Issued(id.SerialNumber) != nil {
			single.Good = true
		} else {
			single.Unknown = true
		}
		data.Responses = append(data.Responses, single)
	}
	if nonce, ok := req.nonce(); ok && !opts.NoNonce {
		data.Extensions = []pkix.Extension{nonce}
	}
	signCert, signKey := ca.Cert, ca.Key
	var certs []*x509.Certificate
	if signer != nil {
		signCert, signKey = signer.cert, signer.key
		certs = []*x509.Certificate{signer.cert}
	}
	rid, err := responderID(signCert, opts.ResponderIDByKey)
	if err != nil {
		return nil, err
	}
	data.ResponderID = rid
	return signResponse(data, signKey, ca.SignatureAlgorithm, certs, ca.Rand)
}
