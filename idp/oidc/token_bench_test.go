package oidc_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// The token benchmarks measure POST /token end to end over loopback HTTPS
// against the running harness (the real card login once, memory sessions,
// SQLite registry): the code exchange of esenzioni (client_secret_basic,
// opaque access token, RS256 ID token), of es256 (ES256 ID token) and of
// post (jwt access token: two signatures). Each iteration first gets a new
// code from /authorize in the logged-in browser, timer stopped. The
// baselines are one bare signature with the same keys, in the same run:
//
//	go test -run '^$' -bench 'Token' -benchtime 2000x ./idp/oidc/

func BenchmarkToken(b *testing.B)          { benchExchange(b, "esenzioni") }
func BenchmarkTokenES256(b *testing.B)     { benchExchange(b, "es256") }
func BenchmarkTokenJWTAccess(b *testing.B) { benchExchange(b, "post") }

// benchExchange runs the harness, which needs a *testing.T, as a test of
// its own and times the exchanges with b from there.
func benchExchange(b *testing.B, client string) {
	ok := testing.RunTests(func(_, _ string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: b.Name() + "/harness", F: func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			br := h.citizen()
			h.code(br, client) // the card login; later authorizations reuse the session
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				code, verifier := h.code(br, client)
				b.StartTimer()
				_, _, id := h.tokens(h.exchange(client, code, verifier))
				if id == "" {
					t.Fatal("no ID token")
				}
			}
		}}})
	if !ok {
		b.Fatal("the token exchange failed")
	}
}

func BenchmarkTokenBaselineSignRS256(b *testing.B) { benchSign(b, "rs256.pem") }
func BenchmarkTokenBaselineSignES256(b *testing.B) { benchSign(b, "es256.pem") }

// benchSign signs a SHA-256 digest with one of the harness's signing keys:
// PKCS #1 v1.5 (RS256) or ECDSA P-256 (ES256), nothing around it.
func benchSign(b *testing.B, file string) {
	pems, err := signingKeys()
	if err != nil {
		b.Fatal(err)
	}
	key, err := pemfile.PrivateKey(pems[file])
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9"))
	b.ReportAllocs()
	for b.Loop() {
		switch k := key.(type) {
		case *rsa.PrivateKey:
			_, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
		case *ecdsa.PrivateKey:
			_, err = ecdsa.SignASN1(rand.Reader, k, digest[:])
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
