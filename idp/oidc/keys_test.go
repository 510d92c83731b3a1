package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

func pemOf(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParseSigningKeys(t *testing.T) {
	es, err := pemfile.GenerateKey(pemfile.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	es2, _ := pemfile.GenerateKey(pemfile.AlgES256)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pkcs1 := pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ecKey)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	cert := pemOf(t, "CERTIFICATE", []byte{1, 2, 3})

	tests := []struct {
		name       string
		pems       [][]byte
		defaultAlg jwa.SignatureAlgorithm
		algs       []string
		kids       int // published entries: RSA keys thrice (RS256, PS256, RS512)
	}{
		{"ok/es256-pkcs8", [][]byte{es}, jwa.ES256, []string{"ES256"}, 1},
		{"ok/ec-sec1-then-rsa-pkcs1", [][]byte{pemOf(t, "EC PRIVATE KEY", sec1), pkcs1}, jwa.RS256, []string{"RS256", "PS256", "ES256", "RS512"}, 4},
		{"ok/rotation-two-ec", [][]byte{es, es2}, jwa.ES256, []string{"ES256"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := parseSigningKeys(tt.pems...)
			if err != nil {
				t.Fatal(err)
			}
			if ks.defaultAlg != tt.defaultAlg || ks.public.Len() != tt.kids || !slices.Equal(ks.algs, tt.algs) {
				t.Fatalf("default %s, %d keys, algs %v", ks.defaultAlg, ks.public.Len(), ks.algs)
			}
			// Each algorithm is signed by the first key of its kind, and
			// published under its own kid with that alg.
			for _, a := range tt.algs {
				k, alg, ok := ks.signer(a)
				if !ok || alg.String() != a || k.Algorithm().String() != a {
					t.Fatalf("%s: signer %v %s %v", a, k, alg, ok)
				}
				pub, found := ks.public.LookupKeyID(k.KeyID())
				if !found || pub.Algorithm().String() != a {
					t.Fatalf("%s: kid %s not published with its alg", a, k.KeyID())
				}
			}
			first, _ := ks.public.Key(0)
			if k, _, _ := ks.signer(tt.algs[len(tt.algs)-1]); k.KeyID() == "" || first.KeyID() == "" {
				t.Fatal("a key without kid")
			}
			for i := 0; i < ks.public.Len(); i++ {
				k, _ := ks.public.Key(i)
				if priv, _ := isPrivate(k); priv {
					t.Fatal("a private key is published")
				}
			}
		})
	}
	for name, pems := range map[string][][]byte{
		"fail/none":        nil,
		"fail/not-pem":     {[]byte("hello")},
		"fail/certificate": {cert},
		"fail/rsa-1024":    {pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small))},
		"fail/p384":        {pemOf(t, "PRIVATE KEY", p384DER)},
		"fail/duplicate":   {es, es},
		"fail/garbage-der": {pemOf(t, "PRIVATE KEY", []byte{0x30, 0x01})},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseSigningKeys(pems...); !errors.Is(err, ErrBadKey) {
				t.Fatalf("got %v, want ErrBadKey", err)
			}
		})
	}
}

func isPrivate(k interface{ Raw(any) error }) (bool, error) {
	var raw any
	if err := k.Raw(&raw); err != nil {
		return false, err
	}
	switch raw.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
		return true, nil
	}
	return false, nil
}

// TestGeneratedKeysSign: the keys `cnsgate keys generate` writes are
// signing keys of the algorithm asked for.
func TestGeneratedKeysSign(t *testing.T) {
	for _, alg := range []string{pemfile.AlgES256, pemfile.AlgRS256} {
		data, err := pemfile.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		ks, err := parseSigningKeys(data)
		if err != nil || ks.defaultAlg.String() != alg {
			t.Fatalf("%s: %v %v", alg, ks, err)
		}
	}
	if _, err := pemfile.GenerateKey("HS256"); err == nil {
		t.Fatal("HS256 key generated")
	}
}

// TestSignVerify: a token verifies with the kind it was signed as, never
// as another kind, and not once expired unless asked.
func TestSignVerify(t *testing.T) {
	es, _ := pemfile.GenerateKey(pemfile.AlgES256)
	ks, err := parseSigningKeys(es)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	p := withKeys(&Provider{issuer: "https://login.example", now: func() time.Time { return now }}, ks)
	tok, err := p.sign("", typAccess, map[string]any{"iss": p.issuer, "exp": now.Add(time.Minute), "jti": "j"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.verify(tok, typAccess, true); err != nil {
		t.Fatal(err)
	}
	if _, err := p.verify(tok, typID, true); !errors.Is(err, errBadToken) {
		t.Fatalf("an access token verified as an ID token: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := p.verify(tok, typAccess, true); !errors.Is(err, errBadToken) {
		t.Fatal("an expired token verified")
	}
	if _, err := p.verify(tok, typAccess, false); err != nil {
		t.Fatalf("an expired token did not verify without time checks: %v", err)
	}
	other := withKeys(&Provider{issuer: "https://other.example", now: p.now}, ks)
	if _, err := other.verify(tok, typAccess, false); !errors.Is(err, errBadToken) {
		t.Fatal("a token of another issuer verified")
	}
}

// TestSignVerifyEveryAlg: with an RSA and an EC key, a token signed in
// each algorithm carries the kid of that algorithm's entry and verifies;
// an algorithm no key signs is an error, never another algorithm.
func TestSignVerifyEveryAlg(t *testing.T) {
	rs, _ := pemfile.GenerateKey(pemfile.AlgRS256)
	es, _ := pemfile.GenerateKey(pemfile.AlgES256)
	ks, err := parseSigningKeys(es, rs)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	p := withKeys(&Provider{issuer: "https://login.example", now: func() time.Time { return now }}, ks)
	for _, alg := range []string{"", AlgRS256, AlgPS256, AlgES256} {
		tok, err := p.sign(alg, typID, map[string]any{"iss": p.issuer, "exp": now.Add(time.Minute)})
		if err != nil {
			t.Fatalf("%q: %v", alg, err)
		}
		msg, _ := jws.Parse([]byte(tok))
		hdr := msg.Signatures()[0].ProtectedHeaders()
		want := alg
		if want == "" {
			want = AlgRS256 // the default, though the EC key is listed first
		}
		signer, _, _ := ks.signer(want)
		if hdr.Algorithm().String() != want || hdr.KeyID() != signer.KeyID() {
			t.Fatalf("%q: signed %s with kid %s", alg, hdr.Algorithm(), hdr.KeyID())
		}
		if _, err := p.verify(tok, typID, true); err != nil {
			t.Fatalf("%s: %v", want, err)
		}
	}
	ecOnly, _ := parseSigningKeys(es)
	q := withKeys(&Provider{issuer: p.issuer, now: p.now}, ecOnly)
	if _, err := q.sign(AlgRS256, typID, map[string]any{"iss": p.issuer}); err == nil {
		t.Fatal("signed RS256 without an RSA key")
	}
}

// withKeys gives p the key set ks.
func withKeys(p *Provider, ks *keySet) *Provider {
	p.ks.Store(ks)
	return p
}
