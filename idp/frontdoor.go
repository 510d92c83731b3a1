package idp

import (
	"context"
	"crypto/x509"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
)

// RevocationChecker decides whether a validated card is revoked. It
// returns nil for a card that may log in, or a *x509cns.Rejection with
// ReasonRevoked or ReasonRevocationUnavailable.
type RevocationChecker interface {
	Verify(ctx context.Context, leaf, issuer *x509.Certificate) error
}

// FrontDoor judges the card presented with a request on the cns listener.
// Every request is judged from its own connection state: TLS session
// resumption skips the handshake's certificate callbacks, so nothing decided
// at handshake time is trusted here.
type FrontDoor struct {
	validator  atomic.Pointer[x509cns.Validator]
	revocation RevocationChecker
	recorder   Recorder
	now        func() time.Time
}

// NewFrontDoor returns a FrontDoor using v and, when not nil, rc for
// revocation; now defaults to time.Now.
func NewFrontDoor(v *x509cns.Validator, rc RevocationChecker, now func() time.Time) *FrontDoor {
	if now == nil {
		now = time.Now
	}
	f := &FrontDoor{revocation: rc, recorder: NopRecorder{}, now: now}
	f.validator.Store(v)
	return f
}

// SetRecorder sets where validation times are recorded.
func (f *FrontDoor) SetRecorder(r Recorder) { f.recorder = r }

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

// Authenticate validates the card presented with r, revocation included.
// The error is a *x509cns.Rejection whose Reason is safe to show and count.
func (f *FrontDoor) Authenticate(r *http.Request) (*x509cns.Result, error) {
	start := time.Now()
	defer func() { f.recorder.CertValidation(time.Since(start)) }()
	res, err := f.validator.Load().Validate(PresentedChain(r), f.now())
	if err != nil {
		return nil, err
	}
	if f.revocation != nil {
		if err := f.revocation.Verify(r.Context(), res.Leaf(), res.Issuer()); err != nil {
			return nil, err
		}
	}
	return res, nil
}
