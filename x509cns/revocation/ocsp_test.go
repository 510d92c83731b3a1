package revocation

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// xcryptoResponder answers with x/crypto/ocsp.CreateResponse, signed by
// signer (included in the response when it is not the CA).
func xcryptoResponder(t *testing.T, e *env, signer *x509.Certificate, key crypto.Signer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		now := e.clock.Now().Truncate(time.Second)
		tpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
		if signer != e.ca.Cert {
			tpl.Certificate = signer
		}
		resp, err := ocsp.CreateResponse(e.ca.Cert, signer, tpl, key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(resp)
	})
}

// flipNonce alters the last byte of each request (the end of the nonce)
// before the responder sees it, so the echo differs from what was sent.
func flipNonce(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		body[len(body)-1] ^= 0xff
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	})
}

// TestOCSP runs one login's OCSP check, in mode ocsp, against a responder
// that behaves well or badly.
func TestOCSP(t *testing.T) {
	setOpts := func(o cnstest.OCSPOptions) func(t *testing.T, e *env, _ *Options) *x509.Certificate {
		return func(t *testing.T, e *env, _ *Options) *x509.Certificate {
			if err := e.ocsp.SetOptions(o); err != nil {
				t.Fatal(err)
			}
			return e.card(t)
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env, o *Options) (leaf *x509.Certificate)
		want  want
	}{
		{"ok/good", setOpts(cnstest.OCSPOptions{}), wantGood},
		{"ok/good-delegated-responder", setOpts(cnstest.OCSPOptions{Delegated: true, ResponderIDByKey: true}), wantGood},
		{"ok/good-sha256-certid", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			o.OCSPHash = crypto.SHA256
			return e.card(t)
		}, wantGood},
		{"ok/good-nonce-echoed", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			o.OCSPNonce = true
			return e.card(t)
		}, wantGood},
		{"fail/nonce-not-echoed", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			o.OCSPNonce = true
			return setOpts(cnstest.OCSPOptions{NoNonce: true})(t, e, o)
		}, wantRefused(ErrNonce)},
		{"ok/nonce-off-none-echoed", setOpts(cnstest.OCSPOptions{NoNonce: true}), wantGood},
		{"ok/no-next-update", setOpts(cnstest.OCSPOptions{Validity: -1}), wantGood},
		{"ok/x-crypto-responder", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			o.OCSPURL = serve(t, xcryptoResponder(t, e, e.ca.Cert, e.ca.Key), "/")
			return e.card(t)
		}, wantGood},
		{"ok/revoked", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			return e.revoked(t)
		}, wantRevoked},
		{"fail/unknown", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			leaf := e.card(t)
			// Same issuer, a serial the CA never recorded: the responder answers unknown.
			tpl := *leaf
			tpl.SerialNumber = big.NewInt(987654321)
			der, err := x509.CreateCertificate(e.ca.Rand, &tpl, e.ca.Cert, leaf.PublicKey, e.ca.Key)
			if err != nil {
				t.Fatal(err)
			}
			unknown, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			return unknown
		}, wantRefused(ErrUnknownCert)},
		{"fail/unauthorized-signer", setOpts(cnstest.OCSPOptions{UnauthorizedSigner: true}), wantRefused(ErrUnauthorizedResponder)},
		{"fail/delegated-without-ocsp-eku", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			key, _ := cnstest.SharedKey(2048, slotLeaf)
			cert, err := e.ca.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: "not a responder"},
				KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, key.Public())
			if err != nil {
				t.Fatal(err)
			}
			o.OCSPURL = serve(t, xcryptoResponder(t, e, cert, key), "/")
			return e.card(t)
		}, wantRefused(ErrUnauthorizedResponder)},
		{"fail/delegated-responder-expired", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			leaf := setOpts(cnstest.OCSPOptions{Delegated: true})(t, e, o)
			e.clock.Advance(100 * 24 * time.Hour) // responder certificates last three months
			return leaf
		}, wantRefused(ErrUnauthorizedResponder)},
		{"fail/answer-for-another-serial", setOpts(cnstest.OCSPOptions{AnswerSerial: big.NewInt(4242)}), wantRefused(ErrSerialMismatch)},
		{"fail/old-response-replayed", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			now := e.clock.Now()
			return setOpts(cnstest.OCSPOptions{ThisUpdate: now.Add(-26 * time.Hour), NextUpdate: now.Add(-2 * time.Hour)})(t, e, o)
		}, wantRefused(ErrStale)},
		{"fail/old-response-without-next-update", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			now := e.clock.Now()
			return setOpts(cnstest.OCSPOptions{ThisUpdate: now.Add(-2 * time.Hour), Validity: -1})(t, e, o)
		}, wantRefused(ErrStale)},
		{"fail/this-update-in-future", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			now := e.clock.Now()
			return setOpts(cnstest.OCSPOptions{ThisUpdate: now.Add(time.Hour), NextUpdate: now.Add(2 * time.Hour)})(t, e, o)
		}, wantRefused(ErrNotYetValid)},
		{"fail/wrong-nonce", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			o.OCSPNonce = true
			o.OCSPURL = serve(t, flipNonce(e.ocsp), "/")
			return e.card(t)
		}, wantRefused(ErrNonce)},
		{"fail/responder-down", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			o.OCSPURL = deadURL(t)
			return e.card(t)
		}, wantNetworkErr},
		{"fail/responder-slow-past-timeout", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			o.OCSPTimeout = 100 * time.Millisecond
			return setOpts(cnstest.OCSPOptions{Delay: 2 * time.Second})(t, e, o)
		}, wantNetworkErr},
		{"fail/http-500", setOpts(cnstest.OCSPOptions{HTTPStatus: http.StatusInternalServerError}), wantNetworkErr},
		{"fail/try-later", setOpts(cnstest.OCSPOptions{ResponseStatus: int(ocsp.TryLater)}), wantNetworkErr},
		{"fail/unauthorized-status", setOpts(cnstest.OCSPOptions{ResponseStatus: int(ocsp.Unauthorized)}), wantRefused(ErrResponder)},
		{"fail/http-403", setOpts(cnstest.OCSPOptions{HTTPStatus: http.StatusForbidden}), wantRefused(ErrHTTPStatus)},
		{"fail/no-aia", func(t *testing.T, e *env, o *Options) *x509.Certificate {
			e.ca.OCSPServer = []string{}
			return e.card(t)
		}, wantRefused(ErrNoSource)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			o := Options{Mode: ModeOCSP}
			leaf := tc.setup(t, e, &o)
			c := e.checker(t, o)
			r := c.Check(bg(), leaf, e.ca.Cert)
			tc.want.check(t, r)
			if r.Method != MethodOCSP {
				t.Errorf("method = %q", r.Method)
			}
		})
	}
}

// TestOCSPCache: conclusive answers are cached until nextUpdate; an
// "unknown" is not cached.
func TestOCSPCache(t *testing.T) {
	e := newEnv(t)
	c := e.checker(t, Options{Mode: ModeOCSP})
	leaf := e.card(t)
	first := c.Check(bg(), leaf, e.ca.Cert)
	second := c.Check(bg(), leaf, e.ca.Cert)
	wantGood.check(t, first)
	wantGood.check(t, second)
	if first.Cached || !second.Cached || e.ocsp.Requests() != 1 {
		t.Fatalf("cached %v/%v after %d requests", first.Cached, second.Cached, e.ocsp.Requests())
	}
	e.clock.Advance(time.Hour + time.Second) // past nextUpdate
	e.ca.Revoke(leaf.SerialNumber, e.clock.Now(), 1)
	wantRevoked.check(t, c.Check(bg(), leaf, e.ca.Cert))
	if n := e.ocsp.Requests(); n != 2 {
		t.Fatalf("requests = %d, want 2", n)
	}
}

// TestOCSPSingleflight: concurrent identical queries make one request.
func TestOCSPSingleflight(t *testing.T) {
	e := newEnv(t)
	if err := e.ocsp.SetOptions(cnstest.OCSPOptions{Delay: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	c := e.checker(t, Options{Mode: ModeOCSP})
	leaf := e.card(t)
	var wg sync.WaitGroup
	results := make([]Result, 16)
	for i := range results {
		wg.Go(func() { results[i] = c.Check(bg(), leaf, e.ca.Cert) })
	}
	wg.Wait()
	for _, r := range results {
		wantGood.check(t, r)
	}
	if n := e.ocsp.Requests(); n != 1 {
		t.Fatalf("responder asked %d times, want 1", n)
	}
}

// TestOCSPOpenNeverForgivesUnknown: failure "open" admits a down responder
// but neither an "unknown" nor a revoked answer.
func TestOCSPOpenNeverForgivesUnknown(t *testing.T) {
	e := newEnv(t)
	down := e.checker(t, Options{Mode: ModeOCSP, Failure: FailOpen, OCSPURL: deadURL(t)})
	if _, err := down.Verify(bg(), e.card(t), e.ca.Cert); err != nil {
		t.Fatalf("open, responder down: %v", err)
	}
	up := e.checker(t, Options{Mode: ModeOCSP, Failure: FailOpen})
	if _, err := up.Verify(bg(), e.revoked(t), e.ca.Cert); x509cns.ReasonOf(err) != x509cns.ReasonRevoked {
		t.Fatalf("open, revoked: %v", err)
	}
}
