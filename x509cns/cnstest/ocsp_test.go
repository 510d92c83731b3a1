package cnstest_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// ocspPost sends der to url and returns the status and body.
func ocspPost(t *testing.T, url string, der []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/ocsp-request", bytes.NewReader(der))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func ocspRequest(t *testing.T, card *cnstest.Card, issuer *x509.Certificate) []byte {
	t.Helper()
	der, err := ocsp.CreateRequest(card.Cert, issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestOCSPResponder(t *testing.T) {
	ca, err := cnstest.NewRegionalCA("Marche")
	if err != nil {
		t.Fatal(err)
	}
	good, revoked := ca.MustIssueCard(cnstest.CardOptions{}), ca.MustIssueCard(cnstest.CardOptions{})
	revokedAt := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	ca.Revoke(revoked.Cert.SerialNumber, revokedAt, ocsp.KeyCompromise)
	responder, err := ca.OCSPResponder(cnstest.OCSPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ocsp/", responder)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	if !strings.HasPrefix(ts.URL, "http://127.0.0.1:") {
		t.Fatalf("test server on %s", ts.URL)
	}
	endpoint := ts.URL + "/ocsp/"

	t.Run("ok/post-good", func(t *testing.T) {
		status, body := ocspPost(t, endpoint, ocspRequest(t, good, ca.Cert))
		if status != http.StatusOK {
			t.Fatalf("HTTP %d", status)
		}
		resp, err := ocsp.ParseResponseForCert(body, good.Cert, ca.Cert)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != ocsp.Good || resp.SerialNumber.Cmp(good.Cert.SerialNumber) != 0 || resp.Certificate != nil {
			t.Errorf("status %d serial %v", resp.Status, resp.SerialNumber)
		}
		if d := resp.NextUpdate.Sub(resp.ThisUpdate); d != time.Hour || time.Since(resp.ProducedAt) > time.Minute {
			t.Errorf("validity %v, produced %v", d, resp.ProducedAt)
		}
		if !bytes.Equal(resp.RawResponderName, ca.Cert.RawSubject) {
			t.Error("responder should be named by the CA subject")
		}
	})

	t.Run("ok/get-revoked", func(t *testing.T) {
		der := ocspRequest(t, revoked, ca.Cert)
		resp, err := http.Get(endpoint + url.PathEscape(base64.StdEncoding.EncodeToString(der)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r, err := ocsp.ParseResponse(body, ca.Cert)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != ocsp.Revoked || !r.RevokedAt.Equal(revokedAt) || r.RevocationReason != ocsp.KeyCompromise {
			t.Errorf("status %d at %v reason %d", r.Status, r.RevokedAt, r.RevocationReason)
		}
	})

	t.Run("ok/get-raw-path", func(t *testing.T) {
		direct := httptest.NewServer(responder)
		defer direct.Close()
		for _, card := range []*cnstest.Card{good, revoked} {
			b64 := base64.StdEncoding.EncodeToString(ocspRequest(t, card, ca.Cert))
			resp, err := http.Get(direct.URL + "/" + b64) // '/' and '+' left as they are
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if r, err := ocsp.ParseResponseForCert(body, card.Cert, ca.Cert); err != nil {
				t.Errorf("GET /%s: %v", b64, err)
			} else if want := map[bool]int{true: ocsp.Good, false: ocsp.Revoked}[card == good]; r.Status != want {
				t.Errorf("status %d, want %d", r.Status, want)
			}
		}
	})

	t.Run("ok/unknown-serial", func(t *testing.T) {
		never := *good.Cert
		never.SerialNumber = big.NewInt(999)
		_, body := ocspPost(t, endpoint, ocspRequest(t, &cnstest.Card{Cert: &never}, ca.Cert))
		if r, err := ocsp.ParseResponse(body, ca.Cert); err != nil || r.Status != ocsp.Unknown {
			t.Errorf("%v %v", r, err)
		}
	})

	t.Run("ok/nonce-sha256", func(t *testing.T) {
		nonce := []byte("0123456789abcdef")
		der, err := cnstest.NewOCSPRequest(good.Cert, ca.Cert, crypto.SHA256, nonce)
		if err != nil {
			t.Fatal(err)
		}
		_, body := ocspPost(t, endpoint, der)
		r, err := ocsp.ParseResponse(body, ca.Cert)
		if err != nil || r.Status != ocsp.Good {
			t.Fatalf("%v %v", r, err)
		}
		got, err := cnstest.ResponseNonce(body)
		want, _ := asn1.Marshal(nonce)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("nonce %x, want %x (%v)", got, want, err)
		}
		responder.SetOptions(cnstest.OCSPOptions{NoNonce: true})
		defer responder.SetOptions(cnstest.OCSPOptions{})
		_, body = ocspPost(t, endpoint, der)
		if got, _ := cnstest.ResponseNonce(body); got != nil {
			t.Error("NoNonce still echoes")
		}
	})

	t.Run("fail/other-issuer", func(t *testing.T) {
		other, _ := shared(t)
		card := other.MustIssueCard(cnstest.CardOptions{})
		_, body := ocspPost(t, endpoint, ocspRequest(t, card, other.Cert))
		var re ocsp.ResponseError
		if _, err := ocsp.ParseResponse(body, ca.Cert); !errors.As(err, &re) || re.Status != ocsp.Unauthorized {
			t.Errorf("%v", err)
		}
	})

	t.Run("fail/malformed", func(t *testing.T) {
		_, body := ocspPost(t, endpoint, []byte("not DER"))
		var re ocsp.ResponseError
		if _, err := ocsp.ParseResponse(body, ca.Cert); !errors.As(err, &re) || re.Status != ocsp.Malformed {
			t.Errorf("%v", err)
		}
	})

	if responder.Requests() < 7 {
		t.Errorf("%d requests counted", responder.Requests())
	}
}

func TestOCSPMisbehaviour(t *testing.T) {
	ca, err := cnstest.NewRegionalCA("Molise")
	if err != nil {
		t.Fatal(err)
	}
	card := ca.MustIssueCard(cnstest.CardOptions{})
	old := time.Now().AddDate(0, 0, -30).UTC().Truncate(time.Second)
	tests := []struct {
		name  string
		opts  cnstest.OCSPOptions
		check func(t *testing.T, status int, body []byte, err error)
	}{
		{"ok/delegated", cnstest.OCSPOptions{Delegated: true}, func(t *testing.T, _ int, body []byte, _ error) {
			r, err := ocsp.ParseResponseForCert(body, card.Cert, ca.Cert)
			if err != nil {
				t.Fatal(err)
			}
			if r.Certificate == nil || !slices.Contains(r.Certificate.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) || r.Status != ocsp.Good {
				t.Errorf("responder certificate %v", r.Certificate)
			}
			if !bytes.Equal(r.Certificate.AuthorityKeyId, ca.Cert.SubjectKeyId) {
				t.Error("delegated certificate not issued by the CA")
			}
		}},
		{"ok/responder-by-key", cnstest.OCSPOptions{ResponderIDByKey: true}, func(t *testing.T, _ int, body []byte, _ error) {
			r, err := ocsp.ParseResponse(body, ca.Cert)
			if err != nil || len(r.ResponderKeyHash) != 20 || r.RawResponderName != nil {
				t.Errorf("%v %v", r, err)
			}
		}},
		{"fail/unauthorized-signer", cnstest.OCSPOptions{UnauthorizedSigner: true}, func(t *testing.T, _ int, body []byte, _ error) {
			if _, err := ocsp.ParseResponse(body, ca.Cert); err == nil {
				t.Error("a response signed by an impostor parsed")
			}
			if _, err := ocsp.ParseResponse(body, nil); err != nil {
				t.Errorf("the response itself must be well-formed: %v", err)
			}
		}},
		{"fail/wrong-serial", cnstest.OCSPOptions{AnswerSerial: big.NewInt(12345)}, func(t *testing.T, _ int, body []byte, _ error) {
			if _, err := ocsp.ParseResponseForCert(body, card.Cert, ca.Cert); err == nil {
				t.Error("answer for another serial matched")
			}
		}},
		{"fail/replay", cnstest.OCSPOptions{ThisUpdate: old, NextUpdate: old.Add(time.Hour)}, func(t *testing.T, _ int, body []byte, _ error) {
			r, err := ocsp.ParseResponse(body, ca.Cert)
			if err != nil || !r.ThisUpdate.Equal(old) || !r.NextUpdate.Equal(old.Add(time.Hour)) || !r.ProducedAt.Equal(old) {
				t.Errorf("%v %v", r, err)
			}
		}},
		{"fail/http-500", cnstest.OCSPOptions{HTTPStatus: 500}, func(t *testing.T, status int, _ []byte, _ error) {
			if status != 500 {
				t.Errorf("HTTP %d", status)
			}
		}},
		{"fail/try-later", cnstest.OCSPOptions{ResponseStatus: int(ocsp.TryLater)}, func(t *testing.T, _ int, body []byte, _ error) {
			var re ocsp.ResponseError
			if _, err := ocsp.ParseResponse(body, ca.Cert); !errors.As(err, &re) || re.Status != ocsp.TryLater {
				t.Errorf("%v", err)
			}
		}},
		{"fail/slow", cnstest.OCSPOptions{Delay: 2 * time.Second}, func(t *testing.T, _ int, _ []byte, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("want a timeout, got %v", err)
			}
		}},
	}
	responder, err := ca.OCSPResponder(cnstest.OCSPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(responder)
	defer ts.Close()
	der := ocspRequest(t, card, ca.Cert)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := responder.SetOptions(tt.opts); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL, bytes.NewReader(der))
			req.Header.Set("Content-Type", "application/ocsp-request")
			resp, err := http.DefaultClient.Do(req)
			var status int
			var body []byte
			if err == nil {
				status = resp.StatusCode
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			tt.check(t, status, body, err)
		})
	}
}
