package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// maxOCSPResponse bounds an OCSP response body. A real answer, even with
// a delegated responder's certificate, is a few kilobytes.
const maxOCSPResponse = 64 << 10

// maxOCSPCache bounds the number of cached OCSP answers; past it, answers
// are not cached until the background loop prunes expired ones.
const maxOCSPCache = 100_000

type ocspCache struct {
	mu      sync.Mutex
	entries map[string]ocspCached
}

type ocspCached struct {
	res   Result
	until time.Time
}

func (c *ocspCache) get(key string, now time.Time) (Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.until) {
		return Result{}, false
	}
	return e.res, true
}

func (c *ocspCache) put(key string, r Result, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]ocspCached{}
	}
	if len(c.entries) < maxOCSPCache {
		c.entries[key] = ocspCached{res: r, until: until}
	}
}

func (c *ocspCache) prune(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if !now.Before(e.until) {
			delete(c.entries, k)
		}
	}
}

// ocspURL is the configured responder, or the first HTTP one in the AIA.
func (c *Checker) ocspURL(leaf *x509.Certificate) string {
	if c.opts.OCSPURL != "" {
		return c.opts.OCSPURL
	}
	for _, u := range leaf.OCSPServer {
		if isHTTP(u) {
			return u
		}
	}
	return ""
}

// checkOCSP asks the responder about leaf, through the cache; identical
// concurrent queries share one request.
func (c *Checker) checkOCSP(ctx context.Context, leaf, issuer *x509.Certificate) Result {
	url := c.ocspURL(leaf)
	if url == "" {
		return Result{Method: MethodOCSP, Cause: fmt.Errorf("ocsp: %w: no OCSP URL in the certificate or configuration", ErrNoSource)}
	}
	key := issuerKey(issuer) + "\x00" + leaf.SerialNumber.String() + "\x00" + url
	if r, ok := c.ocsp.get(key, c.opts.Now()); ok {
		r.Cached = true
		return r
	}
	r, _, err := c.ocspFlight.do(ctx, key, func() Result {
		fctx, cancel := context.WithTimeout(c.ctx, c.opts.OCSPTimeout)
		defer cancel()
		r, until := c.queryOCSP(fctx, leaf, issuer, url)
		c.ocspStats.note(url, c.opts.Now(), r.Cause)
		if r.Status != StatusUnavailable {
			c.ocsp.put(key, r, until)
		}
		return r
	})
	if err != nil {
		return Result{Method: MethodOCSP, Source: url, Unreachable: true,
			Cause: fmt.Errorf("ocsp %s: %w: %w", url, ErrUnreachable, err)}
	}
	return r
}

// queryOCSP sends one request and verifies the answer; it returns the
// result and how long it may be cached.
func (c *Checker) queryOCSP(ctx context.Context, leaf, issuer *x509.Certificate, url string) (Result, time.Time) {
	res := Result{Method: MethodOCSP, Source: url}
	fail := func(err error) (Result, time.Time) {
		res.Cause = fmt.Errorf("ocsp %s: %w", url, err)
		res.Unreachable = errors.Is(err, ErrUnreachable)
		return res, time.Time{}
	}
	nonce, err := c.ocspNonce()
	if err != nil {
		return fail(fmt.Errorf("nonce: %w", err))
	}
	req, err := buildOCSPRequest(issuer, leaf.SerialNumber, c.opts.OCSPHash, nonce)
	if err != nil {
		return fail(err)
	}
	body, err := c.postOCSP(ctx, url, req)
	if err != nil {
		return fail(err)
	}
	resp, err := parseOCSPResponse(body)
	if err != nil {
		return fail(err)
	}
	if err := responderStatus(resp.status); err != nil {
		return fail(err)
	}
	now := c.opts.Now()
	if err := verifyOCSPSigner(resp, issuer, now); err != nil {
		return fail(err)
	}
	s, err := matchSingle(resp, leaf, issuer)
	if err != nil {
		return fail(err)
	}
	if err := checkNonce(resp, nonce); err != nil {
		return fail(err)
	}
	if err := c.checkFresh(s, now); err != nil {
		return fail(err)
	}
	res.ThisUpdate, res.NextUpdate = s.thisUpdate, s.nextUpdate
	until := s.nextUpdate
	if until.IsZero() {
		until = s.thisUpdate.Add(c.opts.OCSPMaxAge)
	}
	switch s.status {
	case certGood:
		res.Status = StatusGood
	case certRevoked:
		res.Status, res.RevokedAt, res.ReasonCode = StatusRevoked, s.revokedAt, s.reason
	default:
		return fail(ErrUnknownCert)
	}
	return res, until
}

// ocspNonce draws a request nonce when the options ask for one.
func (c *Checker) ocspNonce() ([]byte, error) {
	if !c.opts.OCSPNonce {
		return nil, nil
	}
	nonce := make([]byte, 32)
	c.randMu.Lock()
	defer c.randMu.Unlock()
	if _, err := io.ReadFull(c.opts.Rand, nonce); err != nil {
		return nil, err
	}
	return nonce, nil
}

// checkNonce refuses, when a nonce was sent, an answer that does not echo
// it: without the nonce a replayed (or precomputed) answer is
// indistinguishable from a fresh one, which is what asking for a nonce
// rules out.
func checkNonce(resp *ocspResponse, nonce []byte) error {
	switch {
	case nonce == nil:
		return nil
	case !resp.hasNonce:
		return fmt.Errorf("%w: the response carries no nonce (revocation.ocsp_nonce is on)", ErrNonce)
	case !nonceEchoed(resp.nonce, nonce):
		return fmt.Errorf("%w: the response carries another nonce", ErrNonce)
	}
	return nil
}

// responderStatus turns an OCSP responseStatus other than successful into
// an error: tryLater and internalError as an unreachable responder.
func responderStatus(status int) error {
	switch status {
	case ocspSuccessful:
		return nil
	case ocspTryLater, ocspInternalError:
		return unreachable("responder status %d", status)
	default:
		return fmt.Errorf("%w: status %d", ErrResponder, status)
	}
}

// checkFresh refuses an answer from the future or past its nextUpdate (or,
// without one, older than OCSPMaxAge), allowing for clock skew.
func (c *Checker) checkFresh(s ocspSingle, now time.Time) error {
	skew := c.opts.ClockSkew
	switch {
	case s.thisUpdate.After(now.Add(skew)):
		return fmt.Errorf("%w: thisUpdate %s", ErrNotYetValid, s.thisUpdate.Format(time.RFC3339))
	case !s.nextUpdate.IsZero() && now.After(s.nextUpdate.Add(skew)):
		return fmt.Errorf("%w: nextUpdate %s passed", ErrStale, s.nextUpdate.Format(time.RFC3339))
	case s.nextUpdate.IsZero() && now.Sub(s.thisUpdate) > c.opts.OCSPMaxAge+skew:
		return fmt.Errorf("%w: thisUpdate %s older than %v", ErrStale, s.thisUpdate.Format(time.RFC3339), c.opts.OCSPMaxAge)
	}
	return nil
}

// postOCSP sends the request by POST and returns the response body.
func (c *Checker) postOCSP(ctx context.Context, url string, req []byte) ([]byte, error) {
	target, err := requestURL(url)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/ocsp-request")
	hreq.Header.Set("Accept", "application/ocsp-response")
	resp, err := c.opts.HTTPClient.Do(hreq)
	if err != nil {
		return nil, httpFailure(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		return nil, unreachable("HTTP %d", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: HTTP %d", ErrHTTPStatus, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOCSPResponse+1))
	if err != nil {
		return nil, unreachable("reading response: %v", err)
	}
	if len(body) > maxOCSPResponse {
		return nil, fmt.Errorf("%w: OCSP response over %d bytes", ErrTooLarge, maxOCSPResponse)
	}
	return body, nil
}

// verifyOCSPSigner accepts a response signed by issuer itself, or by a
// certificate included in the response that issuer issued for OCSP
// signing (EKU id-kp-OCSPSigning) and that is valid at now.
func verifyOCSPSigner(r *ocspResponse, issuer *x509.Certificate, now time.Time) error {
	if issuer.CheckSignature(r.sigAlg, r.tbs, r.signature) == nil {
		return nil
	}
	for _, cert := range r.certs {
		if cert.CheckSignature(r.sigAlg, r.tbs, r.signature) != nil {
			continue
		}
		switch {
		case !bytes.Equal(cert.RawIssuer, issuer.RawSubject),
			issuer.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) != nil:
			return fmt.Errorf("%w: %q is not issued by %q", ErrUnauthorizedResponder, cert.Subject.CommonName, issuer.Subject.CommonName)
		case !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning):
			return fmt.Errorf("%w: %q lacks id-kp-OCSPSigning", ErrUnauthorizedResponder, cert.Subject.CommonName)
		case cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageDigitalSignature == 0:
			return fmt.Errorf("%w: %q lacks digitalSignature", ErrUnauthorizedResponder, cert.Subject.CommonName)
		case now.Before(cert.NotBefore) || now.After(cert.NotAfter):
			return fmt.Errorf("%w: %q not valid at %s", ErrUnauthorizedResponder, cert.Subject.CommonName, now.Format(time.RFC3339))
		}
		return nil
	}
	return fmt.Errorf("%w: OCSP response of %q", ErrBadSignature, issuer.Subject.CommonName)
}

// matchSingle finds the SingleResponse whose CertID names leaf: the same
// serial, and hashes of issuer's name and key.
func matchSingle(r *ocspResponse, leaf, issuer *x509.Certificate) (ocspSingle, error) {
	for _, s := range r.singles {
		if s.serial.Cmp(leaf.SerialNumber) != 0 {
			continue
		}
		name, key, ok := issuerHashes(issuer, s.hash)
		if ok && bytes.Equal(name, s.nameHash) && bytes.Equal(key, s.keyHash) {
			return s, nil
		}
	}
	return ocspSingle{}, fmt.Errorf("%w: no answer for serial %x of %q among %d", ErrSerialMismatch, leaf.SerialNumber, issuer.Subject.CommonName, len(r.singles))
}
