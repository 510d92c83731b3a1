package x509cns

import (
	"errors"
	"fmt"
)

// Reason says why a certificate was refused. The set is fixed: it labels
// metrics, audit events and selects the message the citizen reads, so a new
// value is a change of the Contract.
type Reason string

// The reasons a login can be refused. Those after ReasonChainTooLong are decided
// outside this package (revocation, registry, front door) but belong to the
// same set so that every layer reports with one vocabulary.
const (
	ReasonNoCertificate         Reason = "no_certificate"         // no client certificate presented
	ReasonMalformed             Reason = "malformed_certificate"  // bytes that do not parse as X.509
	ReasonUnknownIssuer         Reason = "unknown_issuer"         // no chain to a trust anchor
	ReasonExpired               Reason = "expired"                // leaf or chain past notAfter
	ReasonNotYetValid           Reason = "not_yet_valid"          // leaf or chain before notBefore
	ReasonBadPolicy             Reason = "bad_policy"             // no accepted certificate policy
	ReasonBadKeyUsage           Reason = "bad_key_usage"          // KeyUsage lacks digitalSignature
	ReasonBadExtKeyUsage        Reason = "bad_ext_key_usage"      // EKU present without clientAuth, or missing when required
	ReasonWeakKey               Reason = "weak_key"               // RSA key below the configured minimum, or unsupported key
	ReasonWeakSignature         Reason = "weak_signature"         // SHA-1 (or worse) leaf signature when not allowed
	ReasonNoFiscalCode          Reason = "no_fiscal_code"         // neither CN nor serialNumber carry a fiscal code
	ReasonBadFiscalCode         Reason = "bad_fiscal_code"        // fiscal code fails syntax or check character
	ReasonBadCardID             Reason = "bad_card_id"            // card id fails length or Luhn check
	ReasonBadSubject            Reason = "bad_subject"            // subject ambiguous: two CNs, or non-ASCII where a fiscal code or card id belongs
	ReasonNotEndEntity          Reason = "not_end_entity"         // the presented "card" is a CA certificate (basicConstraints CA:TRUE)
	ReasonChainTooLong          Reason = "chain_too_long"         // more intermediates than trust.max_intermediates, or the signature-check budget ran out
	ReasonRevoked               Reason = "revoked"                // listed in a CRL or OCSP says revoked
	ReasonRevocationUnavailable Reason = "revocation_unavailable" // status unknown and failure policy is closed
	ReasonNotRegistered         Reason = "not_registered"         // valid card with no registration
	ReasonRegistrationReplaced  Reason = "registration_replaced"  // a newer card replaced this card's binding
	ReasonRegistrationRevoked   Reason = "registration_revoked"   // an administrator revoked this card's registration
	ReasonNotEligible           Reason = "not_eligible"           // allowlist mode and fiscal code not eligible
	ReasonHandoffMismatch       Reason = "handoff_mismatch"       // handoff code redeemed by another browser than the one that started the login
	ReasonInternal              Reason = "internal_error"         // a fault of ours, not of the card
)

// Reasons lists every Reason, for metrics initialisation and tests.
func Reasons() []Reason {
	return []Reason{
		ReasonNoCertificate, ReasonMalformed, ReasonUnknownIssuer, ReasonExpired,
		ReasonNotYetValid, ReasonBadPolicy, ReasonBadKeyUsage, ReasonBadExtKeyUsage,
		ReasonWeakKey, ReasonWeakSignature, ReasonNoFiscalCode, ReasonBadFiscalCode,
		ReasonBadCardID, ReasonBadSubject, ReasonNotEndEntity, ReasonChainTooLong, ReasonRevoked, ReasonRevocationUnavailable, ReasonNotRegistered,
		ReasonRegistrationReplaced, ReasonRegistrationRevoked, ReasonNotEligible, ReasonHandoffMismatch,
		ReasonInternal,
	}
}

// Valid reports whether r is one of Reasons.
func (r Reason) Valid() bool {
	for _, k := range Reasons() {
		if k == r {
			return true
		}
	}
	return false
}

// Rejection is the error returned for a refused certificate. Detail is for
// logs and operators; citizens only ever see a message chosen by Reason.
// Detail and Error never hold a fiscal code in full (MaskFiscalCodes):
// they quote subjects and issuer names, which carry one.
type Rejection struct {
	Reason Reason
	Detail string
	Err    error
}

func (e *Rejection) Error() string {
	s := string(e.Reason)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return MaskFiscalCodes(s)
}

func (e *Rejection) Unwrap() error { return e.Err }

// Reject builds a Rejection with a formatted detail, fiscal codes masked.
func Reject(r Reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: r, Detail: MaskFiscalCodes(fmt.Sprintf(format, args...))}
}

// ReasonOf returns the Reason carried by err, ReasonInternal for any other
// non-nil error, and "" for nil.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var rej *Rejection
	if errors.As(err, &rej) {
		return rej.Reason
	}
	return ReasonInternal
}
