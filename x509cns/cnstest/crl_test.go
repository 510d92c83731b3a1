package cnstest_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

func TestCRL(t *testing.T) {
	ca, err := cnstest.NewRegionalCA("Umbria")
	if err != nil {
		t.Fatal(err)
	}
	good, bad := ca.MustIssueCard(cnstest.CardOptions{}), ca.MustIssueCard(cnstest.CardOptions{})
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	ca.Revoke(bad.Cert.SerialNumber, at, 1)
	ca.Revoke(big.NewInt(77), at, 0)

	now := time.Now()
	der, err := ca.CRL(now, now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("CRL signature: %v", err)
	}
	if crl.Number.Int64() != 1 || !bytes.Equal(crl.AuthorityKeyId, ca.Cert.SubjectKeyId) || !bytes.Equal(crl.RawIssuer, ca.Cert.RawSubject) {
		t.Errorf("number %v, AKI %x", crl.Number, crl.AuthorityKeyId)
	}
	if len(crl.RevokedCertificateEntries) != 2 {
		t.Fatalf("%d entries", len(crl.RevokedCertificateEntries))
	}
	var found bool
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(good.Cert.SerialNumber) == 0 {
			t.Error("good card listed")
		}
		if e.SerialNumber.Cmp(bad.Cert.SerialNumber) == 0 {
			found = true
			if !e.RevocationTime.Equal(at) || e.ReasonCode != 1 {
				t.Errorf("entry %v reason %d", e.RevocationTime, e.ReasonCode)
			}
		}
	}
	if !found {
		t.Error("revoked card not listed")
	}

	der2, _ := ca.CRL(now, now.Add(time.Hour))
	crl2, _ := x509.ParseRevocationList(der2)
	if crl2.Number.Int64() != 2 {
		t.Errorf("second CRL number %v", crl2.Number)
	}
	ca.SetCRLNumber(1000)
	ca.Unrevoke(big.NewInt(77))
	der3, _ := ca.CRL(now, now.Add(time.Hour))
	crl3, _ := x509.ParseRevocationList(der3)
	if crl3.Number.Int64() != 1000 || len(crl3.RevokedCertificateEntries) != 1 {
		t.Errorf("number %v, %d entries", crl3.Number, len(crl3.RevokedCertificateEntries))
	}

	other, err := ca.Rekey()
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(other.Cert); err == nil {
		t.Error("CRL verifies with another key of the same name")
	}
}

func TestCRLServer(t *testing.T) {
	ca, _ := shared(t)
	srv := ca.CRLServer(cnstest.CRLServerOptions{Validity: 2 * time.Hour})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/toscana.crl")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/pkix-crl" {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
	crl, err := x509.ParseRevocationList(body)
	if err != nil {
		t.Fatal(err)
	}
	if d := crl.NextUpdate.Sub(crl.ThisUpdate); d != 2*time.Hour {
		t.Errorf("validity %v", d)
	}

	stale := time.Now().AddDate(0, 0, -10)
	srv.SetOptions(cnstest.CRLServerOptions{ThisUpdate: stale, NextUpdate: stale.Add(24 * time.Hour)})
	resp, _ = http.Get(ts.URL)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if crl, err := x509.ParseRevocationList(body); err != nil || crl.NextUpdate.After(time.Now()) {
		t.Errorf("stale CRL: %v", err)
	}

	srv.SetOptions(cnstest.CRLServerOptions{HTTPStatus: http.StatusInternalServerError})
	resp, _ = http.Get(ts.URL)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || srv.Requests() != 3 {
		t.Errorf("status %d after %d requests", resp.StatusCode, srv.Requests())
	}
}

func TestConcurrentUse(t *testing.T) {
	ca, _ := shared(t)
	responder, err := ca.OCSPResponder(cnstest.OCSPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(responder)
	defer ts.Close()
	card := ca.MustIssueCard(cnstest.CardOptions{})
	der, _ := cnstest.NewOCSPRequest(card.Cert, ca.Cert, crypto.SHA1, nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c, err := ca.IssueCard(cnstest.CardOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			ca.Revoke(c.Cert.SerialNumber, time.Now(), i%7)
			if _, err := ca.CRL(time.Now(), time.Now().Add(time.Hour)); err != nil {
				t.Error(err)
			}
			resp, err := http.Post(ts.URL, "application/ocsp-request", bytes.NewReader(der))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
}
