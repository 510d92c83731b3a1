package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

func TestIdPMetadata(t *testing.T) {
	h := newHarness(t)
	h.start(nil)
	resp, err := h.client().Get(h.public.URL + PathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	p := readPage(t, resp)
	p.must(t, 200, `entityID="`+h.public.URL+PathMetadata+`"`)
	if ct := resp.Header.Get("Content-Type"); ct != "application/samlmetadata+xml" {
		t.Fatalf("content type %q", ct)
	}
	if _, err := verifyByIdP(h.idpCert, []byte(p.body)); err != nil {
		t.Fatalf("metadata signature: %v", err)
	}
	ed, err := samlsp.ParseMetadata([]byte(p.body))
	if err != nil {
		t.Fatal(err)
	}
	d := ed.IDPSSODescriptors[0]
	if len(d.KeyDescriptors) != 1 || d.KeyDescriptors[0].Use != "signing" ||
		d.KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data != base64.StdEncoding.EncodeToString(h.idpCert.Raw) {
		t.Fatalf("key descriptors %+v", d.KeyDescriptors)
	}
	var bindings []string
	for _, e := range append(d.SingleSignOnServices, d.SingleLogoutServices...) {
		bindings = append(bindings, e.Binding+" "+strings.TrimPrefix(e.Location, h.public.URL))
	}
	want := []string{
		bindingRedirect + " " + PathSSO, bindingPost + " " + PathSSO,
		bindingRedirect + " " + PathSLO, bindingPost + " " + PathSLO,
	}
	if strings.Join(bindings, ",") != strings.Join(want, ",") {
		t.Fatalf("endpoints %v", bindings)
	}
	if len(d.NameIDFormats) != 2 || d.NameIDFormats[0] != crewjam.PersistentNameIDFormat {
		t.Fatalf("NameID formats %v", d.NameIDFormats)
	}
	// Valid for 30 days (a file-based SP keeps starting), fetched again
	// after an hour (cacheDuration and max-age), requests must be signed.
	if until := time.Until(ed.ValidUntil); until < DefaultMetadataValidFor-time.Minute || until > DefaultMetadataValidFor+time.Minute {
		t.Fatalf("validUntil in %s, want %s", until, DefaultMetadataValidFor)
	}
	if ed.CacheDuration != time.Hour || resp.Header.Get("Cache-Control") != "public, max-age=3600" {
		t.Fatalf("cacheDuration %s, Cache-Control %q", ed.CacheDuration, resp.Header.Get("Cache-Control"))
	}
	if d.WantAuthnRequestsSigned == nil || !*d.WantAuthnRequestsSigned || !strings.Contains(p.body, `WantAuthnRequestsSigned="true"`) {
		t.Fatalf("WantAuthnRequestsSigned %v", d.WantAuthnRequestsSigned)
	}
}

// TestIdPMetadataValidity: metadata_valid_for and metadata_cache_duration
// reach the document a running server publishes, and one SP configured
// without require_signed_requests turns WantAuthnRequestsSigned off.
func TestIdPMetadataValidity(t *testing.T) {
	h := newHarness(t)
	sp := h.newSP("legacy", spOptions{})
	h.start([]ServiceProvider{sp.cfg}, func(o *Options) {
		o.MetadataValidFor, o.MetadataCacheDuration = 90*24*time.Hour, 6*time.Hour
	})
	resp, err := h.client().Get(h.public.URL + PathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	p := readPage(t, resp)
	ed, err := samlsp.ParseMetadata([]byte(p.body))
	if err != nil {
		t.Fatal(err)
	}
	if until := time.Until(ed.ValidUntil); until < 89*24*time.Hour || until > 91*24*time.Hour {
		t.Fatalf("validUntil in %s", until)
	}
	if ed.CacheDuration != 6*time.Hour || resp.Header.Get("Cache-Control") != "public, max-age=21600" {
		t.Fatalf("cacheDuration %s, Cache-Control %q", ed.CacheDuration, resp.Header.Get("Cache-Control"))
	}
	if w := ed.IDPSSODescriptors[0].WantAuthnRequestsSigned; w == nil || *w {
		t.Fatalf("WantAuthnRequestsSigned %v with an SP that need not sign", w)
	}
	if _, err := New(h.svc, h.store, h.eph, Options{MetadataValidFor: time.Hour, MetadataCacheDuration: 2 * time.Hour}); err == nil ||
		!strings.Contains(err.Error(), "exceeds its validity") {
		t.Fatalf("cache duration beyond validity: %v", err)
	}
}

// metadataServer serves an SP's metadata document, which tests replace.
type metadataServer struct {
	srv *httptest.Server
	mu  sync.Mutex
	doc []byte
}

func newMetadataServer(t *testing.T) *metadataServer {
	m := &metadataServer{}
	m.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(m.doc)
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *metadataServer) serve(doc []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.doc = doc
}

// signMetadata signs an SP metadata document at its root with k.
func signMetadata(t *testing.T, doc []byte, k *keyPair, mutate func(*etree.Element)) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	root := d.Root()
	root.CreateAttr("ID", "_md"+randomHex(t))
	if mutate != nil {
		mutate(root)
	}
	if k != nil {
		if err := k.sign(root); err != nil {
			t.Fatal(err)
		}
	}
	return mustXML(t, root)
}

// TestSPMetadataURL: metadata fetched from a URL, its signature checked
// against metadata_signer_file, refreshed; a bad refresh keeps the last
// good metadata until it expires.
func TestSPMetadataURL(t *testing.T) {
	h := newHarness(t)
	srv := newMetadataServer(t)
	signerKey := cnstest.MustKey(2048)
	signer := &keyPair{signer: signerKey, cert: selfSigned(t, signerKey, "federation signer"), method: dsig.RSASHA256SignatureMethod}
	stranger := h.newSP("stranger", spOptions{})
	first := h.newSP("cms", spOptions{})
	second := h.newSP("cms", spOptions{acs: []string{"https://cms.example/acs", "https://cms.example/acs2"}})
	srv.serve(signMetadata(t, first.metadata, signer, nil))
	cfg := first.cfg
	cfg.MetadataFile = ""
	cfg.MetadataURL = srv.srv.URL + "/metadata"
	cfg.MetadataSignerFile = h.writeFile("signer.crt", pemBlock("CERTIFICATE", signer.cert.Raw))
	h.start([]ServiceProvider{cfg})

	acs2 := func() int {
		resp, err := h.client().Get(first.redirect(PathSSO, first.authnRequest(authnOpts{acsURL: "https://cms.example/acs2"}), "", ""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := acs2(); s != 400 {
		t.Fatalf("acs2 before the refresh: %d", s)
	}
	srv.serve(signMetadata(t, second.metadata, signer, nil))
	if n := h.idp.sps.refreshAll(nil); n != 0 {
		t.Fatalf("%d refresh failures", n)
	}
	if s := acs2(); s != 200 {
		t.Fatalf("acs2 after the refresh: %d", s)
	}

	bad := []struct {
		name string
		doc  []byte
	}{
		{"fail/unsigned", signMetadata(t, first.metadata, nil, nil)},
		{"fail/other-signer", signMetadata(t, first.metadata, stranger.keys(dsig.RSASHA256SignatureMethod), nil)},
		{"fail/sha1", signMetadata(t, first.metadata, &keyPair{signer: signerKey, cert: signer.cert, method: dsig.RSASHA1SignatureMethod}, nil)},
		{"fail/other-entity", signMetadata(t, stranger.metadata, signer, nil)},
		{"fail/expired", signMetadata(t, first.metadata, signer, func(root *etree.Element) {
			root.CreateAttr("validUntil", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		})},
		{"fail/tampered", bytes.Replace(signMetadata(t, first.metadata, signer, nil), []byte("https://cms.example/acs"), []byte("https://evil.example/acs"), 1)},
		{"fail/not-xml", []byte("<html>")},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			srv.serve(tt.doc)
			if n := h.idp.sps.refreshAll(nil); n != 1 {
				t.Fatalf("refresh accepted the document")
			}
			if s := acs2(); s != 200 {
				t.Fatalf("the last good metadata was dropped: %d", s)
			}
		})
	}

	// Metadata past its validUntil is no longer used.
	srv.serve(signMetadata(t, second.metadata, signer, func(root *etree.Element) {
		root.CreateAttr("validUntil", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	if n := h.idp.sps.refreshAll(nil); n != 0 {
		t.Fatal("refresh failed")
	}
	h.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	resp, err := h.client().Get(first.redirect(PathSSO, first.authnRequest(authnOpts{instant: h.now()}), "", ""))
	if err != nil {
		t.Fatal(err)
	}
	readPage(t, resp).must(t, http.StatusServiceUnavailable, "temporaneamente non disponibile")
}

func TestNewRefuses(t *testing.T) {
	h := newHarness(t)
	sp := h.newSP("cms", spOptions{})
	plain := sp.cfg
	plain.MetadataFile, plain.MetadataURL = "", "http://cms.example/metadata"
	other := sp.cfg
	other.EntityID = "https://other.example/sp"
	tests := []struct {
		name string
		o    Options
	}{
		{"fail/no-salt", Options{ServiceProviders: []ServiceProvider{sp.cfg}}},
		{"fail/short-salt", Options{ServiceProviders: []ServiceProvider{sp.cfg}, NameIDSalt: []byte("short")}},
		{"fail/plain-http-metadata-without-signer", Options{ServiceProviders: []ServiceProvider{plain}}},
		{"fail/metadata-of-another-entity", Options{ServiceProviders: []ServiceProvider{other}}},
		{"fail/duplicate-sp", Options{ServiceProviders: []ServiceProvider{sp.cfg, sp.cfg}}},
		{"fail/missing-key", Options{CertFile: "x"}},
	}
	certFile := h.writeFile("idp.crt", pemBlock("CERTIFICATE", h.idpCert.Raw))
	keyFile := h.writeFile("idp.key", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(h.idpKey)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.o.CertFile == "" {
				tt.o.CertFile, tt.o.KeyFile = certFile, keyFile
			}
			if tt.o.NameIDSalt == nil && !strings.Contains(tt.name, "salt") {
				tt.o.NameIDSalt = bytes.Repeat([]byte("s"), MinNameIDSaltLength)
			}
			if _, err := New(h.svc, h.store, h.eph, tt.o); err == nil {
				t.Fatal("New accepted the configuration")
			}
		})
	}
	// The refresh loop stops with Close.
	srv := newMetadataServer(t)
	srv.serve(sp.metadata)
	remote := sp.cfg
	remote.MetadataFile, remote.MetadataURL = "", srv.srv.URL
	p, err := New(h.svc, h.store, h.eph, Options{
		CertFile: certFile, KeyFile: keyFile, ServiceProviders: []ServiceProvider{remote},
		NameIDSalt: bytes.Repeat([]byte("s"), MinNameIDSaltLength), HTTPClient: h.client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
