package revocation

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"time"
)

// Mode says which methods are asked, and in which order. In the two
// fall-through modes the second method is asked only when the first is
// unavailable (for any cause: an OCSP "unknown" or a stale CRL falls
// through too).
type Mode string

// The modes.
const (
	ModeCRL         Mode = "crl"
	ModeOCSP        Mode = "ocsp"
	ModeCRLThenOCSP Mode = "crl_then_ocsp"
	ModeOCSPThenCRL Mode = "ocsp_then_crl"
	ModeNone        Mode = "none" // every card is good; the caller warns at start
)

// Failure says what Decide does with an unavailable status.
type Failure string

// The failure policies.
const (
	FailClosed Failure = "closed" // refuse: revocation_unavailable
	FailOpen   Failure = "open"   // admit, but only when the cause is the network
)

// Defaults applied by New to zero Options fields.
const (
	DefaultMode               = ModeCRLThenOCSP
	DefaultOCSPTimeout        = 2 * time.Second
	DefaultOCSPMaxAge         = 5 * time.Minute
	DefaultClockSkew          = 5 * time.Minute
	DefaultCRLGrace           = time.Hour
	DefaultCRLMaxBytes        = 64 << 20
	DefaultCRLFetchTimeout    = 30 * time.Second
	DefaultCRLRefreshInterval = time.Hour
)

// Issuers finds trusted CA certificates by the raw issuer name and
// Authority Key Identifier a CRL carries. *x509cns.TrustStore implements it.
// If the value also has an Anchors() []*x509.Certificate method (the trust
// store does), Start uses it to fetch the CRL URL overrides at once.
type Issuers interface {
	IssuersByName(rawIssuer, authorityKeyID []byte) []*x509.Certificate
}

type anchorLister interface {
	Anchors() []*x509.Certificate
}

// Recorder receives what the metrics need. Labels are bounded: the method,
// the status, and the issuer's common name (one per trusted CA).
type Recorder interface {
	// CheckDone counts one method's answer for one Check.
	CheckDone(method Method, status Status)
	// CRLState reports, after every load and periodically, the age
	// (now − thisUpdate) and entry count of an issuer's cached CRL.
	CRLState(issuer string, age time.Duration, entries int)
	// CRLRefreshFailed counts a failed CRL fetch or load.
	CRLRefreshFailed(issuer string)
}

// NopRecorder is the default Recorder.
type NopRecorder struct{}

var _ Recorder = NopRecorder{}

func (NopRecorder) CheckDone(Method, Status)            {}
func (NopRecorder) CRLState(string, time.Duration, int) {}
func (NopRecorder) CRLRefreshFailed(string)             {}

// RevokedEvent reports serials that a refreshed CRL lists and the previous
// CRL of the same issuer did not. The first CRL loaded for an issuer (at
// start, or on the first login of its cards) has nothing to compare with:
// its event has First set and no Serials — every serial it lists may be a
// card revoked while cnsgate was down, and the receiver sweeps its sessions
// against Checker.Revoked instead of being handed a list that may hold
// millions of serials.
type RevokedEvent struct {
	Issuer     *x509.Certificate
	IssuerName string // the issuer's common name
	Serials    []*big.Int
	First      bool // the issuer's first CRL: check every session of the issuer
	Source     string
	ThisUpdate time.Time
}

// Options configures a Checker. The zero value of each field means its
// default; cmd/cnsgate maps config.Revocation onto it.
type Options struct {
	Mode    Mode    // default crl_then_ocsp
	Failure Failure // default closed

	OCSPTimeout time.Duration // per OCSP request; default 2s
	OCSPURL     string        // responder used instead of the certificate's AIA
	OCSPNonce   bool          // send an RFC 8954 nonce
	// OCSPHash makes the CertID: crypto.SHA1 (default, what every
	// responder understands) or crypto.SHA256.
	OCSPHash crypto.Hash
	// OCSPMaxAge bounds how long an answer without nextUpdate is cached,
	// and how old (thisUpdate) such an answer may be; default 5m.
	OCSPMaxAge time.Duration
	// ClockSkew is how far in the future a thisUpdate may be, and how far
	// past an OCSP nextUpdate an answer is still taken; default 5m.
	ClockSkew time.Duration

	CRLGrace time.Duration // a CRL stays usable this long past nextUpdate; default 1h
	CRLFiles []string      // DER or PEM CRLs loaded by Start and re-read when changed
	// CRLURLs replaces the distribution points of an issuer, keyed by the
	// issuer's SubjectKeyId in hex (colons allowed), its subject as
	// pkix.Name.String() prints it, or its common name.
	CRLURLs map[string][]string
	// CRLMaxBytes bounds a CRL's size: a download stops reading there and
	// keeps the previous CRL; default 64 MiB.
	CRLMaxBytes     int64
	CRLFetchTimeout time.Duration // per download; default 30s
	// CRLRefreshInterval is the longest time between two fetches of a CRL
	// (conditional GETs make them cheap); default 1h. A CRL is refetched
	// earlier when its nextUpdate comes first.
	CRLRefreshInterval time.Duration
	// CRLCacheDir, when set, keeps the last CRL fetched from a URL for
	// each issuer (see crlstore.go), loaded by Start before any fetch.
	CRLCacheDir string

	// HTTPClient's transport carries CRL and OCSP requests (default: a
	// client on http.DefaultTransport). The checker uses a copy without
	// cookie jar whose redirects follow FollowRedirects.
	HTTPClient *http.Client
	// FollowRedirects: RedirectNone (the default) or RedirectSameHost.
	FollowRedirects Redirects
	Issuers         Issuers // usually the trust store; nil: files load on first need
	Now             func() time.Time
	Rand            io.Reader // nonces and jitter; default crypto/rand
	Logger          *slog.Logger
	Recorder        Recorder
	// OnRevoked is called when a refreshed CRL newly lists serials, from
	// the goroutine that installed it (logins of that issuer may be
	// waiting on it): hand the event off, do not block.
	OnRevoked func(RevokedEvent)
}

// withDefaults validates o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	errs := o.policyDefaults()
	errs = append(errs, o.limitDefaults()...)
	errs = append(errs, o.checkURLs()...)
	o.dependencyDefaults()
	return o, errors.Join(errs...)
}

// policyDefaults fills in and checks the mode, the failure policy and the
// OCSP CertID hash.
func (o *Options) policyDefaults() []error {
	var errs []error
	switch o.Mode {
	case "":
		o.Mode = DefaultMode
	case ModeCRL, ModeOCSP, ModeCRLThenOCSP, ModeOCSPThenCRL, ModeNone:
	default:
		errs = append(errs, fmt.Errorf("revocation: unknown mode %q", o.Mode))
	}
	switch o.Failure {
	case "":
		o.Failure = FailClosed
	case FailClosed, FailOpen:
	default:
		errs = append(errs, fmt.Errorf("revocation: unknown failure policy %q", o.Failure))
	}
	switch o.FollowRedirects {
	case "":
		o.FollowRedirects = RedirectNone
	case RedirectNone, RedirectSameHost:
	default:
		errs = append(errs, fmt.Errorf("revocation: unknown redirect policy %q", o.FollowRedirects))
	}
	switch o.OCSPHash {
	case 0:
		o.OCSPHash = crypto.SHA1
	case crypto.SHA1, crypto.SHA256:
	default:
		errs = append(errs, fmt.Errorf("revocation: OCSP CertID hash %v not supported", o.OCSPHash))
	}
	return errs
}

// limitDefaults fills in and checks the durations and the CRL size limit.
func (o *Options) limitDefaults() []error {
	var errs []error
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
	}{
		{&o.OCSPTimeout, DefaultOCSPTimeout}, {&o.OCSPMaxAge, DefaultOCSPMaxAge},
		{&o.ClockSkew, DefaultClockSkew}, {&o.CRLGrace, DefaultCRLGrace},
		{&o.CRLFetchTimeout, DefaultCRLFetchTimeout}, {&o.CRLRefreshInterval, DefaultCRLRefreshInterval},
	} {
		if *d.p < 0 {
			errs = append(errs, fmt.Errorf("revocation: negative duration %v", *d.p))
		}
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	if o.CRLMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("revocation: negative CRL size limit %d", o.CRLMaxBytes))
	}
	if o.CRLMaxBytes == 0 {
		o.CRLMaxBytes = DefaultCRLMaxBytes
	}
	return errs
}

// checkURLs refuses configured CRL and OCSP addresses that are not http(s).
func (o *Options) checkURLs() []error {
	var errs []error
	for key, urls := range o.CRLURLs {
		for _, u := range urls {
			if _, err := requestURL(u); err != nil {
				errs = append(errs, fmt.Errorf("revocation: CRL URL for %q: %w", key, err))
			}
		}
	}
	if o.OCSPURL != "" {
		if _, err := requestURL(o.OCSPURL); err != nil {
			errs = append(errs, fmt.Errorf("revocation: OCSP URL: %w", err))
		}
	}
	return errs
}

// dependencyDefaults fills in the injected clock, randomness, HTTP client,
// logger and recorder.
func (o *Options) dependencyDefaults() {
	o.HTTPClient = safeClient(o.HTTPClient, o.FollowRedirects)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Recorder == nil {
		o.Recorder = NopRecorder{}
	}
}
