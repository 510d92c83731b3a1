package idp

import (
	"context"
	"crypto/x509"
	"encoding/hex"
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
// The error carries a *x509cns.Rejection whose Reason is safe to show and
// count (x509cns.ReasonOf); when the card could be read it is a
// *RefusedCard naming it.
func (f *FrontDoor) Authenticate(r *http.Request) (*x509cns.Result, error) {
	start := time.Now()
	defer func() { f.o.Recorder.CertValidation(time.Since(start)) }()
	chain, err := f.chain(r)
	if err != nil {
		return nil, err
	}
	res, err := f.validator.Load().ValidateContext(r.Context(), chain, f.o.Now())
	if err != nil {
		return nil, refusedCard(err, chain)
	}
	if f.o.Revocation != nil {
		if err := f.o.Revocation.Verify(r.Context(), res.Chain); err != nil {
			return nil, &RefusedCard{Err: err, Identity: res.Identity}
		}
	}
	return res, nil
}

// RefusedCard is a refusal of a card that could be read: the audit trail
// records whose card it was. It wraps the *x509cns.Rejection, so that
// x509cns.ReasonOf still finds the reason.
type RefusedCard struct {
	Err error
	// Identity is what the certificate says: the fiscal code when its
	// subject holds a valid one, the serial and the issuer always.
	Identity *x509cns.Identity
}

func (e *RefusedCard) Error() string { return e.Err.Error() }
func (e *RefusedCard) Unwrap() error { return e.Err }

// refusedCard wraps a validation refusal with the identity of the card in
// chain, when there is one (expired, revoked, unknown issuer, wrong
// policy...): as much of it as the certificate yields.
func refusedCard(err error, chain []*x509.Certificate) error {
	if len(chain) == 0 || chain[0] == nil {
		return err
	}
	leaf := chain[0]
	var issuer *x509.Certificate
	if len(chain) > 1 {
		issuer = chain[1]
	}
	id, xerr := x509cns.ExtractIdentity(leaf, issuer)
	if xerr != nil {
		// The subject holds no usable fiscal code: serial and issuer still
		// tell investigators which card it was.
		id = &x509cns.Identity{Serial: hex.EncodeToString(leaf.SerialNumber.Bytes()),
			Issuer: leaf.Issuer.CommonName, Fingerprint: x509cns.Fingerprint(leaf)}
	}
	// The issuer's name comes from a certificate that may be no CA's: a
	// made-up one could put a fiscal code there.
	id.Issuer = x509cns.MaskFiscalCodes(id.Issuer)
	return &RefusedCard{Err: err, Identity: id}
}
