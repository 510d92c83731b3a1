package revocation

import (
	"errors"
	"fmt"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
)

// Status is the revocation status of a certificate. The zero value is
// StatusUnavailable, so a Result nobody filled in never admits a card.
type Status int

// The statuses.
const (
	StatusUnavailable Status = iota // no source gave a usable answer
	StatusGood                      // a fresh, verified CRL or OCSP answer does not list it
	StatusRevoked                   // a verified CRL or OCSP answer lists it
)

// String returns "good", "revoked" or "unavailable": the metric label.
func (s Status) String() string {
	switch s {
	case StatusGood:
		return "good"
	case StatusRevoked:
		return "revoked"
	}
	return "unavailable"
}

// Method names the source of an answer: the metric label.
type Method string

// The methods.
const (
	MethodCRL  Method = "crl"
	MethodOCSP Method = "ocsp"
	MethodNone Method = "none" // mode none: nothing was asked
)

// Result is the outcome of one Check.
type Result struct {
	Status Status
	Method Method
	// Source is the CRL URL or file, or the OCSP responder URL, that gave
	// the answer (or, when unavailable, the last one tried).
	Source string
	// RevokedAt and ReasonCode (RFC 5280 CRLReason; 0 when absent) are set
	// when Status is StatusRevoked.
	RevokedAt  time.Time
	ReasonCode int
	// ThisUpdate and NextUpdate are those of the CRL or OCSP response used.
	ThisUpdate, NextUpdate time.Time
	// Cause says why Status is StatusUnavailable: one error per method
	// tried, joined. After a fall-through it also holds, for a good or
	// revoked answer, why the first method could not answer.
	Cause error
	// Unreachable is true when every method that had a source failed on
	// the network only (unreachable, timeout, HTTP 5xx, OCSP tryLater or
	// internalError): the only case failure "open" admits.
	Unreachable bool
	// Cached is true when the answer came from the OCSP cache (CRL answers
	// always come from the cached CRL).
	Cached bool
}

// Errors carried in Result.Cause. Test them with errors.Is.
var (
	// ErrUnreachable wraps every network failure: connection refused or
	// reset, DNS, timeout, HTTP 5xx, an OCSP "tryLater" or "internalError".
	ErrUnreachable = errors.New("revocation source unreachable")
	// ErrNoSource: the certificate names no usable source for the method
	// and none is configured.
	ErrNoSource = errors.New("no revocation source")
	// ErrNoIssuer: Check was called without the issuer certificate.
	ErrNoIssuer = errors.New("issuer certificate missing")
	// ErrBadSignature: a CRL or OCSP response whose signature does not
	// verify with the issuer's key (a CRL or response of another CA).
	ErrBadSignature = errors.New("signature does not verify with the issuer's key")
	// ErrUnauthorizedResponder: an OCSP response signed by a certificate
	// that is not a delegated responder of the issuer.
	ErrUnauthorizedResponder = errors.New("OCSP response signed by an unauthorised certificate")
	// ErrMalformed: bytes that do not parse as a CRL or OCSP response.
	ErrMalformed = errors.New("malformed revocation data")
	// ErrUnsupported: a well-formed CRL or response this package refuses
	// (unknown critical extension, indirect or delta CRL, odd scope).
	ErrUnsupported = errors.New("unsupported revocation data")
	// ErrTooLarge: a CRL larger than Options.CRLMaxBytes, or an OCSP response
	// larger than 64 KiB.
	ErrTooLarge = errors.New("revocation data larger than the allowed maximum")
	// ErrHTTPStatus: an HTTP answer other than 200, 304 or 5xx.
	ErrHTTPStatus = errors.New("unexpected HTTP status")
	// ErrStale: a CRL past nextUpdate + CRLGrace, or an OCSP response past
	// its nextUpdate (or older than OCSPMaxAge when it has none).
	ErrStale = errors.New("revocation data out of date")
	// ErrNotYetValid: thisUpdate further in the future than ClockSkew.
	ErrNotYetValid = errors.New("revocation data not yet valid")
	// ErrRollback: a CRL whose number (or, without numbers, thisUpdate) is
	// older than the cached one; the cached CRL is kept.
	ErrRollback = errors.New("CRL older than the cached one")
	// ErrOutOfScope: the cached CRL is a partition (issuingDistributionPoint)
	// that does not cover the certificate.
	ErrOutOfScope = errors.New("CRL does not cover the certificate")
	// ErrUnknownCert: the OCSP responder answered "unknown".
	ErrUnknownCert = errors.New("OCSP responder does not know the certificate")
	// ErrSerialMismatch: the OCSP response answers about another
	// certificate than the one asked about.
	ErrSerialMismatch = errors.New("OCSP response is about another certificate")
	// ErrNonce: a nonce was sent and the OCSP response carries none, or
	// another one. Not a network failure: failure "open" does not admit it.
	ErrNonce = errors.New("OCSP nonce mismatch")
	// ErrResponder: the responder refused the request (malformedRequest,
	// unauthorized, sigRequired).
	ErrResponder = errors.New("OCSP responder refused the request")
)

// unreachable wraps a network failure.
func unreachable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnreachable, fmt.Sprintf(format, args...))
}

// Decide maps a Result to nil (admit) or an *x509cns.Rejection under the
// failure policy: revoked is always refused; unavailable is refused unless
// failure is FailOpen and r.Unreachable, that is, unless every source failed
// on the network only. A stale CRL, a bad signature, an OCSP "unknown" or a
// missing source are never admitted.
func Decide(r Result, failure Failure) error {
	switch r.Status {
	case StatusGood:
		return nil
	case StatusRevoked:
		return &x509cns.Rejection{
			Reason: x509cns.ReasonRevoked,
			Detail: fmt.Sprintf("revoked at %s (reason %d) per %s %s",
				r.RevokedAt.UTC().Format(time.RFC3339), r.ReasonCode, r.Method, r.Source),
		}
	}
	if failure == FailOpen && r.Unreachable {
		return nil
	}
	return &x509cns.Rejection{
		Reason: x509cns.ReasonRevocationUnavailable,
		Detail: fmt.Sprintf("no usable %s answer (last source %q)", r.Method, r.Source),
		Err:    r.Cause,
	}
}
