package idp

import (
	"crypto/x509"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
)

// FrontDoor judges the card presented with a request on the cns listener.
// Every request is judged from its own connection state: TLS session
// resumption skips the handshake's certificate callbacks, so nothing decided
// at handshake time is trusted here.
type FrontDoor struct {
	validator atomic.Pointer[x509cns.Validator]
	now       func() time.Time
}

// NewFrontDoor returns a FrontDoor using v; now defaults to time.Now.
func NewFrontDoor(v *x509cns.Validator, now func() time.Time) *FrontDoor {
	if now == nil {
		now = time.Now
	}
	f := &FrontDoor{now: now}
	f.validator.Store(v)
	return f
}

// SetValidator swaps the validator, e.g. after a trust-store reload; requests
// in flight finish with the one they started with.
func (f *FrontDoor) SetValidator(v *x509cns.Validator) { f.validator.Store(v) }

// PresentedChain returns the certificates the client presented on this
// request's connection, leaf first.
func PresentedChain(r *http.Request) []*x509.Certificate {
	if r.TLS == nil {
		return nil
	}
	return r.TLS.PeerCertificates
}

// Authenticate validates the card presented with r. The error is a
// *x509cns.Rejection whose Reason is safe to show and count.
func (f *FrontDoor) Authenticate(r *http.Request) (*x509cns.Result, error) {
	return f.validator.Load().Validate(PresentedChain(r), f.now())
}
