package idp

import (
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
)

// Outcomes of a login attempt or a registration.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Causes of a session's end (the cause label of sessions_ended_total).
const (
	CauseLogout   = "logout"
	CauseIdle     = "idle"
	CauseAbsolute = "absolute"
	CauseRevoked  = "revoked"  // a refreshed CRL revoked the card
	CauseReplaced = "replaced" // the same browser logged in again
	CauseAdmin    = "admin"    // registration revoked by an administrator
	// CauseConsentWithdrawn: the citizen withdrew consent ("La mia tessera").
	CauseConsentWithdrawn = "consent_withdrawn"
	// CauseUnregistered: the citizen removed the card ("La mia tessera").
	CauseUnregistered = "unregistered"
)

// DefaultConsentVersion is the version of the consent text when
// registration.consent_version is not set.
const DefaultConsentVersion = "1"

// Recorder counts what the flows do; idp/metrics implements it with
// Prometheus. Every label comes from a fixed set.
type Recorder interface {
	LoginAttempt(outcome string, reason x509cns.Reason)
	Registration(outcome string)
	SessionCreated()
	SessionEnded(cause string)
	CertValidation(d time.Duration)
	// ProxySpoof counts a client-certificate header sent by a peer outside
	// proxy.trusted_cidrs.
	ProxySpoof()
}

// NopRecorder records nothing.
type NopRecorder struct{}

func (NopRecorder) LoginAttempt(string, x509cns.Reason) {}
func (NopRecorder) Registration(string)                 {}
func (NopRecorder) SessionCreated()                     {}
func (NopRecorder) SessionEnded(string)                 {}
func (NopRecorder) CertValidation(time.Duration)        {}
func (NopRecorder) ProxySpoof()                         {}

var _ Recorder = NopRecorder{}
