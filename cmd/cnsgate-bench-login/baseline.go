package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// The bare baseline: what any Go server doing the same cryptography would
// cost. TLS 1.2 with RequireAndVerifyClientCert against the card CAs
// cnsgate trusts, the same ECDSA P-256 server certificate, and one
// signature with cnsgate's token signing key per request: ES256, or RS256
// with the RSA 3072 key (-baseline-alg rs256). Its second listener, on
// publicAddr, is the baseline of the keep-alive workloads
// (baseline_public.go).

// serveBaseline runs the baseline server until the process is killed.
func serveBaseline(addr, certFile, keyFile, trustDir, signingKey, publicAddr, clientID, secretFile string) error {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	cas, err := loadPool(trustDir)
	if err != nil {
		return err
	}
	sign, alg, err := loadSigner(signingKey)
	if err != nil {
		return err
	}
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		return err
	}
	public := make(chan error, 1)
	go func() {
		public <- servePublicBaseline(publicAddr, pair, publicBaseline(sign, alg, clientID, strings.TrimSpace(string(secret))))
	}()
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: cas,
		MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	ln, err := tls.Listen("tcp", addr, cfg)
	if err != nil {
		return err
	}
	payload := []byte(`{"alg":"` + alg + `"}.{"iss":"baseline","sub":"card"}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var nonce [16]byte
		_, _ = rand.Read(nonce[:])
		sum := sha256.Sum256(append(payload, nonce[:]...))
		sig, err := sign(sum[:])
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, base64.RawURLEncoding.EncodeToString(sig))
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { public <- srv.Serve(ln) }()
	return <-public
}

func loadPool(dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(raw) {
			if c, err := x509.ParseCertificate(raw); err == nil {
				pool.AddCert(c)
			}
		}
	}
	return pool, nil
}

// loadSigner reads one of the demo's token signing keys through
// x509cns/pemfile: an ECDSA key signs ES256, an RSA key RS256 (PKCS #1
// v1.5, SHA-256), as cnsgate signs an ID token with it.
func loadSigner(file string) (func(digest []byte) ([]byte, error), string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, "", err
	}
	k, err := pemfile.PrivateKey(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, err)
	}
	switch key := k.(type) {
	case *ecdsa.PrivateKey:
		return func(d []byte) ([]byte, error) { return ecdsa.SignASN1(rand.Reader, key, d) }, "ES256", nil
	case *rsa.PrivateKey:
		key.Precompute()
		return func(d []byte) ([]byte, error) { return rsa.SignPKCS1v15(nil, key, crypto.SHA256, d) }, "RS256", nil
	}
	return nil, "", fmt.Errorf("%s: neither an ECDSA nor an RSA key", file)
}

// baselineOp is one request to the baseline: a new TLS connection with
// the card, one GET, the signature read.
func baselineOp(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || len(body) < 80 {
		return fmt.Errorf("baseline answered %d: %.100s", resp.StatusCode, body)
	}
	return nil
}

// newTLSClient is a client presenting card (nil: none), checking the
// server with check, with a new connection for every request when fresh.
func newTLSClient(check *serverCheck, card *tls.Certificate, fresh bool) *http.Client {
	cfg := check.config()
	if card != nil {
		cfg.Certificates = []tls.Certificate{*card}
	}
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: fresh, MaxIdleConnsPerHost: 4,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

var errNoCode = errors.New("no authorization code in the redirect")
