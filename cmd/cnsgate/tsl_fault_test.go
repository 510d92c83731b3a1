package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// tslServer is AgID's list server, on loopback: it serves what the test
// says, fails with a status, or hangs.
type tslServer struct {
	*httptest.Server
	mu     sync.Mutex
	body   []byte
	status int
	hang   bool
}

func (ls *tslServer) set(body []byte, status int, hang bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.body, ls.status, ls.hang = body, status, hang
}

func (ls *tslServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ls.mu.Lock()
	body, status, hang := ls.body, ls.status, ls.hang
	ls.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return
	}
	if status != 0 {
		http.Error(w, "unavailable", status)
		return
	}
	_, _ = w.Write(body)
}

// withTSLURL writes signer's certificate next to the demo configuration
// and returns the configuration fetching the trusted list from url every
// second (1s fetch timeout), with the cache file it names.
func withTSLURL(t *testing.T, setup *demo.Setup, y, url string, signer *cnstest.TSLSigner) (string, string) {
	t.Helper()
	dir := filepath.Dir(setup.ConfigFile)
	signerFile := filepath.Join(dir, "tsl-signer.pem")
	if err := os.WriteFile(signerFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signer.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	cacheFile := filepath.Join(dir, "tsl-it.xml")
	if !caDirsLine.MatchString(y) {
		t.Fatalf("the demo config has no trust.ca_dirs line:\n%s", y)
	}
	return caDirsLine.ReplaceAllStringFunc(y, func(l string) string {
		return l + fmt.Sprintf("\n  tsl_url: %q\n  tsl_signer_file: %q\n  tsl_cache_file: %q\n  tsl_refresh: 1s\n  tsl_fetch_timeout: 1s",
			url, signerFile, cacheFile)
	}), cacheFile
}

// waitWithin polls cond every 50 ms until it holds or within is over.
func waitWithin(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestServeTrustedListFromURL: a running cnsgate whose trust.tsl_url
// answers 500 refuses a card of a CA it does not know (unknown_issuer);
// once the list server serves AgID's list signed by xmlsec1, the card is
// accepted without a restart. The server then fails with 500, hangs past
// tsl_fetch_timeout, serves a tampered list and one signed by another key:
// each failure is counted by outcome, within its bound, and the card stays
// accepted on the last good list. A restart with the list server gone
// starts from the persisted list and accepts the card at once.
func TestServeTrustedListFromURL(t *testing.T) {
	ca, err := cnstest.NewRegionalCA("Umbria")
	if err != nil {
		t.Fatal(err)
	}
	withdrawn, err := cnstest.NewRegionalCA("Marche")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := cnstest.NewTSLSigner("AgID TSL signer (test)")
	if err != nil {
		t.Fatal(err)
	}
	other, err := cnstest.NewTSLSigner("Not AgID")
	if err != nil {
		t.Fatal(err)
	}
	list := func(seq int) cnstest.TrustedList {
		return cnstest.TrustedList{ID: "tsl-it", Sequence: seq, IssuedAt: time.Now().Add(time.Duration(seq-10) * time.Hour), Providers: []cnstest.TSLProvider{
			{Name: "Regione Umbria", Services: []cnstest.TSLService{
				{Type: cnstest.TSLServiceIdV, Name: "Regione Umbria - CA Cittadini", Status: cnstest.TSLStatusGranted, Certs: []*x509.Certificate{ca.Cert}},
				{Type: cnstest.TSLServiceTSA, Name: "TSA", Status: cnstest.TSLStatusGranted, Certs: []*x509.Certificate{withdrawn.Cert}}}},
			{Name: "Regione Marche", Services: []cnstest.TSLService{
				{Type: cnstest.TSLServiceIdV, Name: "Regione Marche - CA Cittadini", Status: cnstest.TSLStatusWithdrawn, Certs: []*x509.Certificate{withdrawn.Cert}}}},
		}}
	}
	good, err := signer.SignXMLSec1(list(2), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	newer, err := signer.Sign(list(3))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(newer, []byte(cnstest.TSLStatusWithdrawn), []byte(cnstest.TSLStatusGranted), 1)
	byOther, err := other.Sign(list(3))
	if err != nil {
		t.Fatal(err)
	}

	ls := &tslServer{status: http.StatusInternalServerError}
	ls.Server = httptest.NewServer(ls)
	defer ls.Close()
	var cacheFile string
	s := startServerSetup(t, func(setup *demo.Setup, y string) string {
		y = strings.Replace(y, "mode: crl_then_ocsp", "mode: none", 1)
		y, cacheFile = withTSLURL(t, setup, y, ls.URL+"/TL/TSL-IT.xml", signer)
		return y
	})
	card := ca.MustIssueCard(cnstest.CardOptions{})
	pair := card.TLSCertificate()
	c := s.client(t, &pair, nil)
	check := func() verdict {
		c.CloseIdleConnections()
		v, _ := cnsLogin(t, c, s.b.CNS)
		return v
	}
	count := func(outcome string) float64 {
		return s.metric(t, `cnsgate_trust_tsl_fetch_total{outcome="`+outcome+`"}`)
	}
	if v := check(); v.Reason != "unknown_issuer" {
		t.Fatalf("before the list: %+v", v)
	}
	if count("http_error") < 1 {
		t.Fatalf("the failed fetch at start is not counted")
	}

	ls.set(good, 0, false)
	took := waitWithin(t, 5*time.Second, "card accepted after the list brought its CA", func() bool { return check().Verdict == "accepted" })
	t.Logf("card accepted %v after the list server began serving", took.Round(time.Millisecond))
	if a := s.metric(t, "cnsgate_trust_tsl_anchors"); a != 1 {
		t.Errorf("cnsgate_trust_tsl_anchors = %v, want 1 (the withdrawn CA and the TSA are not anchors)", a)
	}
	if age := s.metric(t, "cnsgate_trust_tsl_age_seconds"); age < 0 || age > 5 {
		t.Errorf("cnsgate_trust_tsl_age_seconds = %v just after a fetch", age)
	}
	if onDisk, err := os.ReadFile(cacheFile); err != nil || !bytes.Equal(onDisk, good) {
		t.Fatalf("the list is not persisted as served (%v)", err)
	}

	faults := []struct {
		name    string
		body    []byte
		status  int
		hang    bool
		outcome string
	}{
		{"500", nil, http.StatusInternalServerError, false, "http_error"},
		{"hang", nil, 0, true, "timeout"},
		{"tampered", tampered, 0, false, "bad_signature"},
		{"signed-by-another-key", byOther, 0, false, "bad_signature"},
	}
	for _, f := range faults {
		before := count(f.outcome)
		ls.set(f.body, f.status, f.hang)
		// A fetch every 250 ms after a failure (a quarter of tsl_refresh),
		// each bounded by tsl_fetch_timeout (1s).
		took := waitWithin(t, 4*time.Second, f.name+" counted as "+f.outcome, func() bool { return count(f.outcome) > before })
		t.Logf("%s: counted as %s within %v", f.name, f.outcome, took.Round(time.Millisecond))
		if v := check(); v.Verdict != "accepted" {
			t.Fatalf("%s: the last good list was not kept: %+v", f.name, v)
		}
		if a := s.metric(t, "cnsgate_trust_tsl_anchors"); a != 1 {
			t.Fatalf("%s: anchors %v", f.name, a)
		}
	}
	if onDisk, _ := os.ReadFile(cacheFile); !bytes.Equal(onDisk, good) {
		t.Fatal("a refused list replaced the persisted one")
	}
	logs := strings.Join(s.logs.Lines(), "\n")
	for _, want := range []string{"HTTP 500 Internal Server Error", "trusted list fetch failed; keeping the last good list", "outcome=bad_signature", "outcome=timeout"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q", want)
		}
	}

	// Restart with the list server gone: the persisted list is loaded.
	s.cancel()
	err = <-s.done
	s.done <- err
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	ls.Close()
	s2 := runServer(t, s.setup)
	c2 := s2.client(t, &pair, nil)
	if v, _ := cnsLogin(t, c2, s2.b.CNS); v.Verdict != "accepted" {
		t.Fatalf("after a restart with the URL down: %+v", v)
	}
	if !strings.Contains(strings.Join(s2.logs.Lines(), "\n"), "trusted list loaded from the cache") {
		t.Error("the restart did not say it used the cache")
	}
	waitWithin(t, 4*time.Second, "fetch from the closed server counted", func() bool {
		return s2.metric(t, `cnsgate_trust_tsl_fetch_total{outcome="unreachable"}`) >= 1
	})
	if a := s2.metric(t, "cnsgate_trust_tsl_anchors"); a != 1 {
		t.Errorf("after the restart: anchors %v", a)
	}
}

// TestServeCIELeafAloneWithTrustedList: AgID lists the CIE root and its
// SUBCA1 side by side. Fetched from tsl_url, SUBCA1 becomes an
// intermediate below the root (not an anchor), so a CIE card presented
// without it logs in, with revocation on: SUBCA1 is checked against the
// root's CRL as a chain member.
func TestServeCIELeafAloneWithTrustedList(t *testing.T) {
	signer, err := cnstest.NewTSLSigner("AgID TSL signer (test)")
	if err != nil {
		t.Fatal(err)
	}
	ls := &tslServer{}
	ls.Server = httptest.NewServer(ls)
	defer ls.Close()
	s := startServerSetup(t, func(setup *demo.Setup, y string) string {
		_, sub := cieChain(t, setup)
		root := demoCA(t, setup, sub.Issuer.CommonName)
		doc, err := signer.Sign(cnstest.TrustedList{ID: "tsl-it", Sequence: 1, Providers: []cnstest.TSLProvider{
			{Name: "Ministero dell'Interno", Services: []cnstest.TSLService{
				{Type: cnstest.TSLServiceIdV, Name: "CIE", Status: cnstest.TSLStatusRecognised, Certs: []*x509.Certificate{root, sub}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		ls.set(doc, 0, false)
		y, _ = withTSLURL(t, setup, y, ls.URL+"/TL/TSL-IT.xml", signer)
		return y
	})
	card, _ := cieChain(t, s.setup)
	if v, _ := cnsLogin(t, s.client(t, loadCard(t, leafOnly(card)), nil), s.b.CNS); v.Verdict != "accepted" || v.Identity.FiscalCode != card.FiscalCode {
		t.Fatalf("/cns/check, CIE leaf alone: %+v", v)
	}
	requireLogLine(t, s, "trust store loaded", "TSL "+ls.URL, "1 sub-CAs of listed roots kept as intermediates")
	if n := s.metric(t, `cnsgate_revocation_checks_total{method="crl",result="good"}`); n < 2 {
		t.Fatalf("CRL checks %v: the card and SUBCA1 should both be checked", n)
	}
}

// demoCA returns the CA certificate of the demo's trust directory whose
// subject CN is cn.
func demoCA(t *testing.T, setup *demo.Setup, cn string) *x509.Certificate {
	t.Helper()
	entries, err := os.ReadDir(setup.TrustDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(setup.TrustDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		certs, err := x509cns.ParseCertificates(data)
		if err == nil && certs[0].Subject.CommonName == cn {
			return certs[0]
		}
	}
	t.Fatalf("no CA %q in %s", cn, setup.TrustDir)
	return nil
}

// TestCheckConfigFetchesTrustedList: check-config fetches and verifies the
// list of tsl_url as serve would start with it, writes no cache file, and
// reports a list server that fails without failing when other anchors
// serve.
func TestCheckConfigFetchesTrustedList(t *testing.T) {
	ca, err := cnstest.NewRegionalCA("Sardegna")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := cnstest.NewTSLSigner("AgID TSL signer (test)")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := signer.Sign(cnstest.TrustedList{ID: "tsl-it", Sequence: 7, Providers: []cnstest.TSLProvider{{Name: "Regione Sardegna", Services: []cnstest.TSLService{
		{Type: cnstest.TSLServiceIdV, Name: "Regione Sardegna - CA Cittadini", Status: cnstest.TSLStatusGranted, Certs: []*x509.Certificate{ca.Cert}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	ls := &tslServer{body: doc}
	ls.Server = httptest.NewServer(ls)
	defer ls.Close()
	setup, err := demo.Prepare(t.TempDir(), demo.DefaultPorts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	y, cacheFile := withTSLURL(t, setup, string(raw), ls.URL+"/TL/TSL-IT.xml", signer)
	if err := os.WriteFile(setup.ConfigFile, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	checkConfig := func() string {
		var out, errb strings.Builder
		if code := run(context.Background(), []string{"check-config", "--config", setup.ConfigFile}, &out, &errb); code != 0 {
			t.Fatalf("check-config: exit %d\n%s%s", code, out.String(), errb.String())
		}
		return out.String()
	}
	if out := checkConfig(); !strings.Contains(out, "trust: TSL "+ls.URL+"/TL/TSL-IT.xml (sequence 7, from the url): 1 certificates from 1 of 1 services: 1 usable anchors now") {
		t.Fatalf("check-config does not report the fetched list:\n%s", out)
	}
	if _, err := os.Stat(cacheFile); err == nil {
		t.Fatal("check-config wrote the cache file")
	}
	ls.set(nil, http.StatusBadGateway, false)
	if out := checkConfig(); !strings.Contains(out, "trust: tsl_url: no list in the cache and none fetched: trusted list http_error: HTTP 502 Bad Gateway") {
		t.Fatalf("check-config does not report the failing list server:\n%s", out)
	}
}
