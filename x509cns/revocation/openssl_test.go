package revocation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/internal/freeport"
	"github.com/cnsgate/cnsgate/x509cns"
)

// requireOpenSSL skips a test when openssl is missing, unless running in
// CI (env CI set), where it fails.
func requireOpenSSL(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("openssl is required in CI: %v", err)
		}
		t.Skip("openssl not installed")
	}
}

// opensslCA is a CA run by "openssl ca" in a temporary directory, its
// certificates carrying a CRL distribution point and an OCSP URL on
// loopback ports chosen by the test.
type opensslCA struct {
	dir      string
	cnf      string
	crlPort  int
	ocspPort int
	cert     *x509.Certificate
}

const opensslConfig = `[ ca ]
default_ca = CA_default
[ CA_default ]
dir = %[1]s
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_days = 30
default_crl_days = 1
policy = policy_any
unique_subject = no
x509_extensions = card_ext
crl_extensions = crl_ext
[ policy_any ]
commonName = supplied
[ card_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://127.0.0.1:%[2]d/ca.crl, URI:ldap://127.0.0.1/cn=ca
authorityInfoAccess = OCSP;URI:http://127.0.0.1:%[3]d/
[ ocsp_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
[ crl_ext ]
authorityKeyIdentifier = keyid
[ req ]
distinguished_name = dn
[ dn ]
`

func (o *opensslCA) run(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = o.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func newOpenSSLCA(t testing.TB) *opensslCA {
	t.Helper()
	requireOpenSSL(t)
	o := &opensslCA{dir: t.TempDir(), crlPort: freePort(t), ocspPort: freePort(t)}
	o.cnf = filepath.Join(o.dir, "openssl.cnf")
	files := map[string]string{
		"openssl.cnf": fmt.Sprintf(opensslConfig, o.dir, o.crlPort, o.ocspPort),
		"index.txt":   "", "serial": "1000\n", "crlnumber": "01\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(o.dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(o.dir, "newcerts"), 0o700); err != nil {
		t.Fatal(err)
	}
	o.run(t, "req", "-config", o.cnf, "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
		"-subj", "/C=IT/O=OpenSSL Test/CN=OpenSSL Test CA Cittadini", "-days", "30",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	o.cert = readPEMCert(t, filepath.Join(o.dir, "ca.crt"))
	return o
}

// issue has "openssl ca" issue a certificate named name.crt.
func (o *opensslCA) issue(t testing.TB, name string, extra ...string) *x509.Certificate {
	t.Helper()
	o.run(t, "req", "-config", o.cnf, "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", name+".key", "-out", name+".csr", "-subj", "/CN="+name)
	o.run(t, append([]string{"ca", "-batch", "-config", o.cnf, "-notext", "-in", name + ".csr", "-out", name + ".crt"}, extra...)...)
	return readPEMCert(t, filepath.Join(o.dir, name+".crt"))
}

func readPEMCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// opensslPKI issues a good card and a revoked one (keyCompromise) and a
// CRL with "openssl ca -gencrl".
func opensslPKI(t *testing.T) (o *opensslCA, good, revoked *x509.Certificate, crlPath string) {
	o = newOpenSSLCA(t)
	good = o.issue(t, "good")
	revoked = o.issue(t, "revoked")
	o.run(t, "ca", "-config", o.cnf, "-revoke", "revoked.crt", "-crl_reason", "keyCompromise")
	o.run(t, "ca", "-config", o.cnf, "-gencrl", "-out", "crl.pem")
	return o, good, revoked, filepath.Join(o.dir, "crl.pem")
}

// TestOpenSSLCRL checks cards against a CRL made by "openssl ca -gencrl",
// loaded from its PEM file and fetched from the distribution point.
func TestOpenSSLCRL(t *testing.T) {
	o, good, revoked, crlPath := opensslPKI(t)
	trust := x509cns.NewTrustStore()
	trust.Add(o.cert, "openssl")

	pemBytes, err := os.ReadFile(crlPath)
	if err != nil {
		t.Fatal(err)
	}
	der, err := readBounded(bytes.NewReader(pemBytes), DefaultCRLMaxBytes, int64(len(pemBytes)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseCRL(der)
	if err != nil {
		t.Fatal(err)
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	sameAsStdlib(t, p, rl)

	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", o.crlPort))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(der) })}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	for _, tc := range []struct {
		name  string
		files []string
	}{{"ok/file", []string{crlPath}}, {"ok/distribution-point", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Options{Mode: ModeCRL, CRLFiles: tc.files, Issuers: trust})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Start(bg()); err != nil {
				t.Fatal(err)
			}
			wantGood.check(t, c.Check(bg(), good, o.cert))
			r := c.Check(bg(), revoked, o.cert)
			wantRevoked.check(t, r)
			if r.ReasonCode != 1 || r.RevokedAt.IsZero() || time.Since(r.RevokedAt) > time.Hour {
				t.Errorf("reason %d at %v", r.ReasonCode, r.RevokedAt)
			}
			wantSource := fmt.Sprintf("http://127.0.0.1:%d/ca.crl", o.crlPort)
			if tc.files != nil {
				wantSource = crlPath
			}
			if r.Source != wantSource {
				t.Errorf("source %q, want %q", r.Source, wantSource)
			}
		})
	}
}

// startOpenSSLResponder runs "openssl ocsp" as a responder on the CA's
// OCSP port; it is killed at cleanup. OpenSSL 3.0's -port takes a number
// only and listens on every interface; the test talks to it on 127.0.0.1
// and nothing else does. Readiness is its "waiting for OCSP client
// connections" line, not a probe connection: an empty connection wedges
// the single-threaded responder for good.
func startOpenSSLResponder(t *testing.T, o *opensslCA, signer, key string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "openssl", "ocsp", "-index", "index.txt", "-port", fmt.Sprint(o.ocspPort),
		"-rsigner", signer, "-rkey", key, "-CA", "ca.crt", "-nmin", "10", "-ignore_err")
	cmd.Dir = o.dir
	out := &watchWriter{marker: "waiting for OCSP client connections", seen: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	select {
	case <-out.seen:
	case <-time.After(10 * time.Second):
		t.Fatalf("openssl ocsp did not start:\n%s", out.String())
	}
}

// watchWriter collects output and closes seen once marker appears.
type watchWriter struct {
	mu     sync.Mutex
	buf    strings.Builder
	marker string
	seen   chan struct{}
	done   bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.marker) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestOpenSSLOCSP checks cards against "openssl ocsp" as the responder,
// signing with a delegated responder certificate and with the CA key.
func TestOpenSSLOCSP(t *testing.T) {
	o, good, revoked, _ := opensslPKI(t)
	o.issue(t, "responder", "-extensions", "ocsp_ext")
	// A certificate of the CA that "openssl ca" did not record: unknown.
	o.run(t, "req", "-config", o.cnf, "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "stray.key", "-out", "stray.csr", "-subj", "/CN=stray")
	o.run(t, "x509", "-req", "-in", "stray.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "77777",
		"-days", "1", "-extfile", "openssl.cnf", "-extensions", "card_ext", "-out", "stray.crt")
	stray := readPEMCert(t, filepath.Join(o.dir, "stray.crt"))

	for _, signer := range []struct{ name, cert, key string }{
		{"delegated", "responder.crt", "responder.key"},
		{"ca-key", "ca.crt", "ca.key"},
	} {
		t.Run(signer.name, func(t *testing.T) {
			startOpenSSLResponder(t, o, signer.cert, signer.key)
			tests := []struct {
				name string
				opts Options
				leaf *x509.Certificate
				want want
			}{
				{"ok/good-sha1", Options{}, good, wantGood},
				{"ok/good-sha256-nonce", Options{OCSPHash: crypto.SHA256, OCSPNonce: true}, good, wantGood},
				{"ok/revoked", Options{OCSPNonce: true}, revoked, wantRevoked},
				{"fail/unknown", Options{}, stray, wantRefused(ErrUnknownCert)},
			}
			t.Run("ok/nonce-echoed", func(t *testing.T) {
				c, err := New(Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				nonce := []byte("0123456789abcdef0123456789abcdef")
				req, err := buildOCSPRequest(o.cert, good.SerialNumber, crypto.SHA1, nonce)
				if err != nil {
					t.Fatal(err)
				}
				body, err := c.postOCSP(bg(), good.OCSPServer[0], req)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := parseOCSPResponse(body)
				if err != nil {
					t.Fatal(err)
				}
				if !resp.hasNonce || !nonceEchoed(resp.nonce, nonce) {
					t.Fatalf("nonce not echoed: %x", resp.nonce)
				}
			})
			// A real answer without the nonce: a loopback relay asks
			// openssl the same question without the nonce (as a replayed
			// or precomputed answer would be) and passes its signed
			// answer back. With ocsp_nonce on it is refused.
			t.Run("fail/answer-without-nonce", func(t *testing.T) {
				relay := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					req, err := buildOCSPRequest(o.cert, good.SerialNumber, crypto.SHA1, nil)
					if err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
					resp, err := http.Post(good.OCSPServer[0], "application/ocsp-request", bytes.NewReader(req))
					if err != nil {
						http.Error(w, err.Error(), http.StatusBadGateway)
						return
					}
					defer resp.Body.Close()
					w.Header().Set("Content-Type", "application/ocsp-response")
					_, _ = io.Copy(w, resp.Body)
				}), "/ocsp")
				for _, f := range []Failure{FailClosed, FailOpen} {
					c, err := New(Options{Mode: ModeOCSP, Failure: f, OCSPNonce: true, OCSPURL: relay, OCSPTimeout: 5 * time.Second})
					if err != nil {
						t.Fatal(err)
					}
					wantRefused(ErrNonce).check(t, c.Check(bg(), good, o.cert))
					c.Close()
				}
			})
			for _, tc := range tests { // one at a time: openssl ocsp is single-threaded
				t.Run(tc.name, func(t *testing.T) {
					opts := tc.opts
					opts.Mode, opts.OCSPTimeout = ModeOCSP, 5*time.Second
					c, err := New(opts)
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					r := c.Check(bg(), tc.leaf, o.cert)
					tc.want.check(t, r)
					if tc.want.status == StatusRevoked && r.ReasonCode != 1 {
						t.Errorf("reason code %d, want 1", r.ReasonCode)
					}
				})
			}
		})
	}
}
