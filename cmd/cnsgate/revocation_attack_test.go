package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// cieRootCRLURL matches the demo's CRL URL override of the CIE root.
var cieRootCRLURL = regexp.MustCompile(`http://[^"]*` + regexp.QuoteMeta(demo.CIERootCRLPath))

// cieChain returns the demo CIE card and its SUBCA1, read from the card's
// chain file.
func cieChain(t *testing.T, setup *demo.Setup) (demo.Card, *x509.Certificate) {
	t.Helper()
	card, ok := setup.Card("cie")
	if !ok {
		t.Fatal("the demo has no CIE card")
	}
	data, err := os.ReadFile(card.ChainFile)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := x509cns.ParseCertificates(data)
	if err != nil || len(certs) < 2 || certs[1].Subject.CommonName != cnstest.CIESubCA1CN {
		t.Fatalf("CIE chain file: %d certificates, %v", len(certs), err)
	}
	return card, certs[1]
}

// TestAttackRevokedSubCA presents, over mTLS to a running server, a CIE
// card whose issuing SUBCA1 the CIE root has revoked (the root's CRL,
// served by a loopback HTTP server, lists it; the card itself is listed
// nowhere). The login is refused with reason revoked, the refusal is on
// the audit trail naming the intermediate, and the metrics count it; the
// same card under a SUBCA1 that is not revoked logs in (the demo).
func TestAttackRevokedSubCA(t *testing.T) {
	var rootCRL *cnstest.CRLServer
	crlSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rootCRL.ServeHTTP(w, r) }))
	t.Cleanup(crlSrv.Close)
	s := startServerSetup(t, func(setup *demo.Setup, y string) string {
		root, err := setup.LoadCIERoot()
		if err != nil {
			t.Fatal(err)
		}
		_, sub := cieChain(t, setup)
		root.Revoke(sub.SerialNumber, time.Now().Add(-time.Hour), ocsp.CACompromise)
		rootCRL = root.CRLServer(cnstest.CRLServerOptions{Validity: time.Hour})
		if !cieRootCRLURL.MatchString(y) {
			t.Fatalf("the demo config has no CRL URL for the CIE root:\n%s", y)
		}
		return cieRootCRLURL.ReplaceAllString(y, crlSrv.URL+"/cie-root.crl")
	})
	card, _ := cieChain(t, s.setup)

	if code, body := cardLoginPage(t, s, card); code != http.StatusForbidden || !strings.Contains(body, html.EscapeString(web.ReasonMessage(web.Italian, "revoked"))) {
		t.Fatalf("card under a revoked SUBCA1: %d\n%s", code, body)
	}
	if rootCRL.Requests() == 0 {
		t.Fatal("the root's CRL was never fetched")
	}
	v, _ := cnsLogin(t, s.client(t, loadCard(t, card), nil), s.b.CNS)
	if v.Verdict != "rejected" || v.Reason != "revoked" {
		t.Fatalf("/cns/check: %+v", v)
	}

	found := refusedLoginEvent(t, s, "revoked")
	if !bytes.Contains(found.Detail, []byte("intermediate CA")) || !bytes.Contains(found.Detail, []byte("SUBCA1")) {
		t.Fatalf("audit detail does not name the revoked intermediate: %s", found.Detail)
	}

	// inspect, on the same configuration, decides as serve did and shows
	// the intermediate's status.
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"inspect", "--config", s.setup.ConfigFile, card.ChainFile}, &out, &errOut)
	var rep inspectReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || code != 1 {
		t.Fatalf("inspect: exit %d, %v\n%s%s", code, err, out.String(), errOut.String())
	}
	if rep.Verdict != "rejected" || rep.Reason != "revoked" || rep.Revocation == nil ||
		len(rep.Revocation.Intermediates) != 1 || rep.Revocation.Intermediates[0].Result != "revoked" ||
		!strings.Contains(rep.Revocation.Intermediates[0].Subject, "SUBCA1") {
		t.Fatalf("inspect report:\n%s", out.String())
	}

	metrics := scrape(t, s.b.Admin)
	for _, want := range []string{
		`cnsgate_login_attempts_total{outcome="failure",reason="revoked"} 1`,
		`cnsgate_revocation_checks_total{method="crl",result="revoked"} 2`, // /cns/login and /cns/check
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// scrape returns the admin listener's /metrics.
func scrape(t *testing.T, admin string) string {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// demoCACRLURL matches the demo config's CRL URL of the demo regional CA,
// and ocspURLLine its OCSP responder.
var (
	demoCACRLURL = regexp.MustCompile(`http://[^"]*` + regexp.QuoteMeta(demo.CRLPath))
	ocspURLLine  = regexp.MustCompile(`(?m)^  ocsp_url: .*$`)
)

// refusedUnavailable logs the demo citizen in over mTLS and expects the
// login refused with revocation_unavailable, audited with a detail that
// contains cause, and counted for method.
func refusedUnavailable(t *testing.T, s *testServer, method, cause string) {
	t.Helper()
	code, body := cardLoginPage(t, s, s.setup.Cards[0])
	if code != http.StatusServiceUnavailable || !strings.Contains(body, html.EscapeString(web.ReasonMessage(web.Italian, "revocation_unavailable"))) {
		t.Fatalf("login: %d\n%s", code, body)
	}
	found := refusedLoginEvent(t, s, "revocation_unavailable")
	if !bytes.Contains(found.Detail, []byte(cause)) {
		t.Fatalf("audit detail lacks %q: %s", cause, found.Detail)
	}
	metrics := scrape(t, s.b.Admin)
	for _, want := range []string{
		`cnsgate_login_attempts_total{outcome="failure",reason="revocation_unavailable"} 1`,
		`cnsgate_revocation_checks_total{method="` + method + `",result="unavailable"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestAttackCRLRedirectToAnotherHost: the demo CA's CRL URL answers with a
// redirect to another host, which serves a CRL of the same CA, properly
// signed, that would vouch for the card. A running server, even with
// failure "open", does not follow it: the login is refused as
// revocation_unavailable, audited with the refused redirect, counted, and
// the other host is never asked.
func TestAttackCRLRedirectToAnotherHost(t *testing.T) {
	var otherHits atomic.Int64
	var otherCRL *cnstest.CRLServer
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		otherCRL.ServeHTTP(w, r)
	}))
	t.Cleanup(other.Close)
	otherURL, _ := url.Parse(other.URL)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+otherURL.Port()+"/ca.crl", http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	s := startServerSetup(t, func(setup *demo.Setup, y string) string {
		certPEM, err1 := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.crt"))
		keyPEM, err2 := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.key"))
		ca, err3 := cnstest.LoadCA(certPEM, keyPEM)
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		otherCRL = ca.CRLServer(cnstest.CRLServerOptions{Validity: time.Hour})
		if !demoCACRLURL.MatchString(y) {
			t.Fatalf("the demo config has no CRL URL for its CA:\n%s", y)
		}
		y = demoCACRLURL.ReplaceAllString(y, redirect.URL+"/ca.crl")
		return strings.Replace(y, "  mode: crl_then_ocsp\n", "  mode: crl\n  failure: open\n", 1)
	})
	refusedUnavailable(t, s, "crl", "redirect refused")
	if n := otherHits.Load(); n != 0 {
		t.Fatalf("the other host was asked %d times", n)
	}
}

// TestAttackOversizedOCSPAnswer: the OCSP responder answers with more
// than 64 KiB. A running server, even with failure "open", refuses the
// login as revocation_unavailable, audited and counted.
func TestAttackOversizedOCSPAnswer(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(bytes.Repeat([]byte{0x30}, 1<<20))
	}))
	t.Cleanup(big.Close)
	s := startServer(t, func(y string) string {
		if !ocspURLLine.MatchString(y) {
			t.Fatalf("the demo config has no ocsp_url:\n%s", y)
		}
		y = ocspURLLine.ReplaceAllString(y, "  ocsp_url: "+big.URL+"/ocsp")
		return strings.Replace(y, "  mode: crl_then_ocsp\n", "  mode: ocsp\n  failure: open\n", 1)
	})
	refusedUnavailable(t, s, "ocsp", "larger than the allowed maximum")
}

// TestAttackOCSPAnswerWithoutNonce: with ocsp_nonce on, the demo CA's
// responder (a real one, signing with the CA key) answers "good" without
// echoing the nonce, as a replayed answer would. A running server, even
// with failure "open", refuses the login as revocation_unavailable,
// audited with the nonce cause and counted; once the responder echoes the
// nonce, the same card logs in.
func TestAttackOCSPAnswerWithoutNonce(t *testing.T) {
	var responder *cnstest.OCSPResponder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { responder.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	s := startServerSetup(t, func(setup *demo.Setup, y string) string {
		certPEM, err1 := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.crt"))
		keyPEM, err2 := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.key"))
		ca, err3 := cnstest.LoadCA(certPEM, keyPEM)
		cardPEM, err4 := os.ReadFile(setup.Cards[0].CertFile)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatal(err)
		}
		certs, err := x509cns.ParseCertificates(cardPEM)
		if err != nil {
			t.Fatal(err)
		}
		ca.AddIssued(certs[0])
		if responder, err = ca.OCSPResponder(cnstest.OCSPOptions{NoNonce: true}); err != nil {
			t.Fatal(err)
		}
		y = ocspURLLine.ReplaceAllString(y, "  ocsp_url: "+srv.URL+"/ocsp")
		return strings.Replace(y, "  mode: crl_then_ocsp\n", "  mode: ocsp\n  failure: open\n  ocsp_nonce: true\n", 1)
	})
	refusedUnavailable(t, s, "ocsp", "the response carries no nonce")
	if responder.Requests() == 0 {
		t.Fatal("the responder was never asked")
	}

	if err := responder.SetOptions(cnstest.OCSPOptions{}); err != nil {
		t.Fatal(err)
	}
	v, resp := cnsLogin(t, s.client(t, loadCard(t, s.setup.Cards[0]), nil), s.b.CNS)
	if resp.StatusCode != http.StatusOK || v.Verdict != "accepted" {
		t.Fatalf("with the nonce echoed: %d %+v", resp.StatusCode, v)
	}
	if m := scrape(t, s.b.Admin); !strings.Contains(m, `cnsgate_revocation_checks_total{method="ocsp",result="good"} 1`) {
		t.Error(`/metrics lacks cnsgate_revocation_checks_total{method="ocsp",result="good"} 1`)
	}
}

// cardLoginPage logs the card in at /cns/login over mTLS, on a new
// connection, and returns the status and the page.
func cardLoginPage(t *testing.T, s *testServer, c demo.Card) (int, string) {
	t.Helper()
	resp, err := s.client(t, loadCard(t, c), nil).Get("https://" + s.b.CNS + "/cns/login")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// refusedLoginEvent waits for the audit row of a login refused for reason
// in the server's registry and returns it.
func refusedLoginEvent(t *testing.T, s *testServer, reason string) registry.Event {
	t.Helper()
	reg, err := sqlstore.Open(context.Background(), string(s.cfg.Registry.Driver), s.cfg.Registry.DSN.Value())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	var found registry.Event
	waitFor(t, "the refused login ("+reason+") on the audit trail", 10*time.Second, func() bool {
		events, err := reg.QueryAudit(context.Background(), registry.AuditQuery{Kind: registry.KindLogin, Outcome: registry.OutcomeFailure})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Reason == reason {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// TestCRLRedirectSameHostWhenAllowed: with revocation.follow_redirects
// same_host, a running server follows the CRL URL's redirect to another
// path of the same host and scheme (the card logs in, the check counted
// good), sends none of the cookies the redirect set nor any credentials,
// and still refuses a redirect from there to another host.
func TestCRLRedirectSameHostWhenAllowed(t *testing.T) {
	var crl *cnstest.CRLServer
	var mu sync.Mutex
	var seen []string // "path cookie authorization" of each request
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	t.Cleanup(other.Close)
	otherURL, _ := url.Parse(other.URL)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+" "+r.Header.Get("Cookie")+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		switch r.URL.Path {
		case "/ca.crl":
			http.SetCookie(w, &http.Cookie{Name: "track", Value: "1", Path: "/"})
			http.Redirect(w, r, "/real/ca.crl", http.StatusFound)
		case "/elsewhere.crl":
			http.Redirect(w, r, "http://localhost:"+otherURL.Port()+"/ca.crl", http.StatusFound)
		default:
			crl.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	start := func(path string) *testServer {
		return startServerSetup(t, func(setup *demo.Setup, y string) string {
			certPEM, err1 := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.crt"))
			keyPEM, err2 := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.key"))
			ca, err3 := cnstest.LoadCA(certPEM, keyPEM)
			if err := errors.Join(err1, err2, err3); err != nil {
				t.Fatal(err)
			}
			crl = ca.CRLServer(cnstest.CRLServerOptions{Validity: time.Hour})
			if !demoCACRLURL.MatchString(y) {
				t.Fatalf("the demo config has no CRL URL for its CA:\n%s", y)
			}
			y = demoCACRLURL.ReplaceAllString(y, srv.URL+path)
			return strings.Replace(y, "  mode: crl_then_ocsp\n", "  mode: crl\n  follow_redirects: same_host\n", 1)
		})
	}

	s := start("/ca.crl")
	v, resp := cnsLogin(t, s.client(t, loadCard(t, s.setup.Cards[0]), nil), s.b.CNS)
	if resp.StatusCode != http.StatusOK || v.Verdict != "accepted" {
		t.Fatalf("card with the CRL behind a same-host redirect: %d %+v", resp.StatusCode, v)
	}
	if m := scrape(t, s.b.Admin); !strings.Contains(m, `cnsgate_revocation_checks_total{method="crl",result="good"} 1`) {
		t.Error(`/metrics lacks cnsgate_revocation_checks_total{method="crl",result="good"} 1`)
	}
	mu.Lock()
	got := slices.Clone(seen)
	mu.Unlock()
	if !slices.Contains(got, "/ca.crl  ") || !slices.Contains(got, "/real/ca.crl  ") {
		t.Fatalf("CRL requests (path, Cookie, Authorization): %q; want both paths, no cookie, no credentials", got)
	}
	for _, r := range got {
		if !strings.HasSuffix(r, "  ") {
			t.Fatalf("a CRL request carried a cookie or credentials: %q", r)
		}
	}

	s = start("/elsewhere.crl")
	refusedUnavailable(t, s, "crl", "redirect refused")
	if n := otherHits.Load(); n != 0 {
		t.Fatalf("the other host was asked %d times", n)
	}
}
