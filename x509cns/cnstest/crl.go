package cnstest

import (
	"crypto/x509"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Revoke records serial as revoked at the given time with an RFC 5280
// reason code (0 unspecified, 1 keyCompromise, ... 6 certificateHold; the
// constants of x/crypto/ocsp match). Later CRLs list it and the OCSP
// responder answers "revoked". Revoking again replaces the entry; serials
// the CA never issued may be revoked too.
func (ca *CA) Revoke(serial *big.Int, at time.Time, reason int) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.revoked[serial.String()] = x509.RevocationListEntry{
		SerialNumber:   new(big.Int).Set(serial),
		RevocationTime: at.UTC().Truncate(time.Second),
		ReasonCode:     reason,
	}
}

// Unrevoke removes serial from the revoked set, as when a certificateHold
// is released.
func (ca *CA) Unrevoke(serial *big.Int) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	delete(ca.revoked, serial.String())
}

// Revocation reports whether serial is revoked, and its entry.
func (ca *CA) Revocation(serial *big.Int) (x509.RevocationListEntry, bool) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	e, ok := ca.revoked[serial.String()]
	return e, ok
}

// SetCRLNumber sets the CRL number the next CRL carries; later CRLs count
// up from it. Without it numbering starts at 1.
func (ca *CA) SetCRLNumber(n int64) {
	ca.mu.Lock()
	ca.crlNumber = n - 1
	ca.mu.Unlock()
}

// CRL returns a DER CRL of the current revocations, signed by the CA with
// its SignatureAlgorithm, carrying the next CRL number (1, 2, ... or from
// SetCRLNumber) and the CA's AuthorityKeyId. Entries are sorted by serial.
func (ca *CA) CRL(thisUpdate, nextUpdate time.Time) ([]byte, error) {
	ca.mu.Lock()
	ca.crlNumber++
	number := big.NewInt(ca.crlNumber)
	entries := make([]x509.RevocationListEntry, 0, len(ca.revoked))
	for _, e := range ca.revoked {
		entries = append(entries, e)
	}
	ca.mu.Unlock()
	slices.SortFunc(entries, func(a, b x509.RevocationListEntry) int {
		return a.SerialNumber.Cmp(b.SerialNumber)
	})
	der, err := x509.CreateRevocationList(ca.Rand, &x509.RevocationList{
		SignatureAlgorithm:        ca.SignatureAlgorithm,
		RevokedCertificateEntries: entries,
		Number:                    number,
		ThisUpdate:                thisUpdate.UTC().Truncate(time.Second),
		NextUpdate:                nextUpdate.UTC().Truncate(time.Second),
	}, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("cnstest: CRL of %q: %w", ca.Cert.Subject.CommonName, err)
	}
	return der, nil
}

// CRLServerOptions shapes what a CRLServer serves.
type CRLServerOptions struct {
	// Validity is nextUpdate − thisUpdate for a CRL made at Now (default
	// 24h).
	Validity time.Duration
	// ThisUpdate and NextUpdate, if set, are used as they are: a stale or
	// replayed CRL.
	ThisUpdate, NextUpdate time.Time
	// Delay holds each answer back (the request context still ends it).
	Delay time.Duration
	// HTTPStatus, if set and not 200, is returned with an empty body.
	HTTPStatus int
	// Body, if set, is served instead of a CRL (garbage, a PEM CRL, ...).
	Body []byte
}

// CRLServer is an http.Handler serving a fresh CRL of its CA on every GET,
// as at a CRL distribution point. Each CRL takes the next CRL number.
type CRLServer struct {
	ca       *CA
	mu       sync.Mutex
	opts     CRLServerOptions
	requests atomic.Int64
}

var _ http.Handler = (*CRLServer)(nil)

// CRLServer returns a handler serving ca's CRL with opts.
func (ca *CA) CRLServer(opts CRLServerOptions) *CRLServer {
	return &CRLServer{ca: ca, opts: opts}
}

// SetOptions changes the behaviour for later requests.
func (s *CRLServer) SetOptions(opts CRLServerOptions) {
	s.mu.Lock()
	s.opts = opts
	s.mu.Unlock()
}

// Requests returns how many requests the server has received.
func (s *CRLServer) Requests() int { return int(s.requests.Load()) }

// ServeHTTP answers GET and HEAD with application/pkix-crl.
func (s *CRLServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	opts := s.opts
	s.mu.Unlock()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !sleep(r, opts.Delay) {
		return
	}
	if opts.HTTPStatus != 0 && opts.HTTPStatus != http.StatusOK {
		w.WriteHeader(opts.HTTPStatus)
		return
	}
	body := opts.Body
	if body == nil {
		this, next := opts.ThisUpdate, opts.NextUpdate
		if this.IsZero() {
			this = s.ca.Now()
		}
		if next.IsZero() {
			validity := opts.Validity
			if validity == 0 {
				validity = 24 * time.Hour
			}
			next = this.Add(validity)
		}
		der, err := s.ca.CRL(this, next)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body = der
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	_, _ = w.Write(body)
}

// sleep waits d unless the request is cancelled first; it reports whether
// the handler should go on.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
