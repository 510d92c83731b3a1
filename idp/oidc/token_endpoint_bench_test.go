package oidc_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// POST /token against the bare signing endpoint, the way a relying party
// calls it: one keep-alive HTTPS connection (the harness's own helpers
// open a new one per call, so BenchmarkToken* also time a TLS handshake).
// The bare endpoint is an httptest server with the same certificate that
// parses the same form, checks the same client_secret_basic (esenzioni)
// and answers a JSON object with one signature by the same key. Both
// report cpu-us/op, the process's user + system CPU per call (client and
// server: they share the process), beside the wall time:
//
//	go test -run '^$' -bench 'TokenKeepAlive|TokenEndpointBaseline' -benchtime 1000x ./idp/oidc/

func BenchmarkTokenKeepAliveRS256(b *testing.B) { benchExchangeKeepAlive(b, "esenzioni") }
func BenchmarkTokenKeepAliveES256(b *testing.B) { benchExchangeKeepAlive(b, "es256") }

func BenchmarkTokenEndpointBaselineRS256(b *testing.B) { benchSigningEndpoint(b, "rs256.pem", true) }
func BenchmarkTokenEndpointBaselineES256(b *testing.B) { benchSigningEndpoint(b, "es256.pem", false) }

func benchExchangeKeepAlive(b *testing.B, client string) {
	ok := testing.RunTests(func(_, _ string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: b.Name() + "/harness", F: func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			br := h.citizen()
			h.code(br, client)
			hc := keepAliveClient(h.roots)
			var cpu time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				code, verifier := h.code(br, client)
				form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
					"redirect_uri": {h.rp.srv.URL + "/cb/" + client}}
				id, secret := h.authenticate(client, form)
				c0 := processCPU()
				b.StartTimer()
				body := postForm(t, hc, h.public.URL+"/token", form, id, secret)
				b.StopTimer()
				cpu += processCPU() - c0
				b.StartTimer()
				if !strings.Contains(body, `"id_token"`) {
					t.Fatalf("no ID token: %.200s", body)
				}
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
		}}})
	if !ok {
		b.Fatal("the token exchange failed")
	}
}

// benchSigningEndpoint is the bare endpoint: form, client authentication
// when basic, one signature, a JSON answer.
func benchSigningEndpoint(b *testing.B, file string, basic bool) {
	ok := testing.RunTests(func(_, _ string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: b.Name() + "/server", F: func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			srv := bareSigningServer(t, h, file, basic)
			defer srv.Close()
			hc := keepAliveClient(h.roots)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {"bare-code"}, "code_verifier": {"v"},
				"redirect_uri": {h.rp.srv.URL + "/cb/esenzioni"}}
			var cpu time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c0 := processCPU()
				body := postForm(t, hc, srv.URL+"/token", form, "esenzioni", secretBasic)
				cpu += processCPU() - c0
				if !strings.Contains(body, `"id_token"`) {
					t.Fatalf("no ID token: %.200s", body)
				}
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
		}}})
	if !ok {
		b.Fatal("the bare signing endpoint failed")
	}
}

// bareSigningServer is the bare endpoint, on h's certificate, signing
// with the key in file; with basic it checks esenzioni's
// client_secret_basic.
func bareSigningServer(t *testing.T, h *harness, file string, basic bool) *httptest.Server {
	sign := endpointSigner(t, file)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("code") == "" {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		if basic {
			id, secret, _ := r.BasicAuth()
			if subtle.ConstantTimeCompare([]byte(id+":"+secret), []byte("esenzioni:"+secretBasic)) != 1 {
				http.Error(w, "bad client", http.StatusUnauthorized)
				return
			}
		}
		var nonce [16]byte
		_, _ = rand.Read(nonce[:])
		claims, _ := json.Marshal(map[string]any{"iss": "bare", "sub": "card", "aud": "esenzioni",
			"nonce": base64.RawURLEncoding.EncodeToString(nonce[:]), "iat": time.Now().Unix()})
		input := "eyJhbGciOiJiYXJlIn0." + base64.RawURLEncoding.EncodeToString(claims)
		sum := sha256.Sum256([]byte(input))
		sig, err := sign(sum[:])
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id_token": input + "." + base64.RawURLEncoding.EncodeToString(sig),
			"token_type": "Bearer", "expires_in": 300})
	}))
	srv.TLS = &tls.Config{Certificates: h.public.TLS.Certificates}
	srv.StartTLS()
	return srv
}

func endpointSigner(t *testing.T, file string) func([]byte) ([]byte, error) {
	pems, err := signingKeys()
	if err != nil {
		t.Fatal(err)
	}
	key, err := pemfile.PrivateKey(pems[file])
	if err != nil {
		t.Fatal(err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return func(d []byte) ([]byte, error) { return rsa.SignPKCS1v15(nil, k, crypto.SHA256, d) }
	case *ecdsa.PrivateKey:
		return func(d []byte) ([]byte, error) { return ecdsa.SignASN1(rand.Reader, k, d) }
	}
	t.Fatalf("%s: unexpected key %T", file, key)
	return nil
}

// keepAliveClient is a relying party's back-channel client: one pooled
// connection, reused.
func keepAliveClient(roots *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, MaxIdleConnsPerHost: 1},
		Timeout: 10 * time.Second}
}

func postForm(t *testing.T, hc *http.Client, endpoint string, form url.Values, id, secret string) string {
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s answered %d: %.200s", endpoint, resp.StatusCode, body)
	}
	return string(body)
}

// processCPU is the process's user + system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
