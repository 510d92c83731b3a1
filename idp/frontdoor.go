package idp

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
)

// RevocationChecker decides whether a validated card, or any CA between it
// and its trust anchor, is revoked. chain is the verified chain, leaf first
// and anchor last. It returns nil for a card that may log in, or a
// *x509cns.Rejection with ReasonRevoked or ReasonRevocationUnavailable.
type RevocationChecker interface {
	Verify(ctx context.Context, chain []*x509.Certificate) error
}

// FrontDoor judges the card presented with a request on the cns listener.
// Every request is judged from its own connection state: TLS session
// resumption skips the handshake's certificate callbacks, so nothing decided
// at handshake time is trusted here.
type FrontDoor struct {
	validator atomic.Pointer[x509cns.Validator]
	o         FrontDoorOptions
}

// FrontDoorOptions are the optional parts of a FrontDoor.
type FrontDoorOptions struct {
	// Revocation checks a validated card; nil checks nothing.
	Revocation RevocationChecker
	// Proxies are the TLS-terminating fronts whose client-certificate
	// header is believed; nil believes none (and still detects spoofing).
	Proxies *TrustedProxies
	// Recorder defaults to NopRecorder, Logger to discarding, Now to time.Now.
	Recorder Recorder
	Logger   *slog.Logger
	Now      func() time.Time
}

// NewFrontDoor returns a FrontDoor validating with v.
func NewFrontDoor(v *x509cns.Validator, o FrontDoorOptions) *FrontDoor {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Recorder == nil {
		o.Recorder = NopRecorder{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	f := &FrontDoor{o: o}
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

// chain returns the card chain of r: from the header of a trusted proxy, or
// from r's own TLS connection. A client-certificate header from anyone else
// is a spoofing attempt: it is logged, counted, removed and ignored.
func (f *FrontDoor) chain(r *http.Request) ([]*x509.Certificate, error) {
	p := f.o.Proxies
	if p.Trusted(r.RemoteAddr) {
		chain, err := p.Chain(r.Header)
		p.StripHeaders(r.Header)
		return chain, err
	}
	if p.Present(r.Header) {
		f.o.Recorder.ProxySpoof()
		f.o.Logger.WarnContext(r.Context(), "client certificate header from an untrusted peer ignored", "peer", r.RemoteAddr)
		p.StripHeaders(r.Header)
	}
	return PresentedChain(r), nil
}

// Authenticate validates the card presented with r, revocation included.
// The error is a *x509cns.Rejection whose Reason is safe to show and count.
func (f *FrontDoor) Authenticate(r *http.Request) (*x509cns.Result, error) {
	start := time.Now()
	defer func() { f.o.Recorder.CertValidation(time.Since(start)) }()
	chain, err := f.chain(r)
	if err != nil {
		return nil, err
	}
	res, err := f.validator.Load().ValidateContext(r.Context(), chain, f.o.Now())
	if err != nil {
		return nil, err
	}
	if f.o.Revocation != nil {
		if err := f.o.Revocation.Verify(r.Context(), res.Chain); err != nil {
			return nil, err
		}
	}
	return res, nil
}
