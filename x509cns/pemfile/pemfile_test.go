package pemfile_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

func block(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func selfSigned(t *testing.T, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func TestCertificates(t *testing.T) {
	a, key := selfSigned(t, "a")
	b, _ := selfSigned(t, "b")
	keyDER, _ := x509.MarshalECPrivateKey(key)
	chain := bytes.Join([][]byte{block("CERTIFICATE", a.Raw), block("EC PRIVATE KEY", keyDER), block("CERTIFICATE", b.Raw)}, nil)
	tests := []struct {
		name  string
		in    []byte
		want  []string // common names
		is    error
		index int // of a *BlockError
	}{
		{name: "ok/chain-with-other-blocks", in: chain, want: []string{"a", "b"}},
		{name: "ok/text-around", in: append([]byte("subject=a\n"), block("CERTIFICATE", a.Raw)...), want: []string{"a"}},
		{name: "fail/empty", in: nil, is: pemfile.ErrNoCertificate},
		{name: "fail/key-only", in: block("EC PRIVATE KEY", keyDER), is: pemfile.ErrNoCertificate},
		{name: "fail/der", in: a.Raw, is: pemfile.ErrNoCertificate},
		{name: "fail/bad-second-block", in: append(block("CERTIFICATE", a.Raw), block("CERTIFICATE", []byte{1, 2, 3})...), index: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pemfile.Certificates(tt.in)
			var be *pemfile.BlockError
			switch {
			case tt.is != nil:
				if !errors.Is(err, tt.is) {
					t.Fatalf("got %v, want %v", err, tt.is)
				}
			case tt.index > 0:
				if !errors.As(err, &be) || be.Index != tt.index || be.Type != "CERTIFICATE" {
					t.Fatalf("got %v, want a BlockError at %d", err, tt.index)
				}
			default:
				if err != nil || len(got) != len(tt.want) {
					t.Fatalf("got %d certificates, %v", len(got), err)
				}
				for i, c := range got {
					if c.Subject.CommonName != tt.want[i] {
						t.Errorf("certificate %d is %q, want %q", i, c.Subject.CommonName, tt.want[i])
					}
				}
			}
		})
	}
}

func TestPrivateKey(t *testing.T) {
	cert, ec := selfSigned(t, "a")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	tests := []struct {
		name string
		in   []byte
		rsa  bool
		is   error
	}{
		{name: "ok/pkcs8", in: block("PRIVATE KEY", pkcs8)},
		{name: "ok/sec1", in: block("EC PRIVATE KEY", sec1)},
		{name: "ok/pkcs1", in: block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), rsa: true},
		{name: "ok/after-a-certificate", in: append(block("CERTIFICATE", cert.Raw), block("PRIVATE KEY", pkcs8)...)},
		{name: "fail/certificate-only", in: block("CERTIFICATE", cert.Raw), is: pemfile.ErrNoPrivateKey},
		{name: "fail/empty", in: []byte("\n"), is: pemfile.ErrNoPrivateKey},
		{name: "fail/garbage-key", in: block("PRIVATE KEY", []byte{1, 2, 3})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := pemfile.PrivateKey(tt.in)
			if tt.is != nil || tt.name == "fail/garbage-key" {
				var be *pemfile.BlockError
				if (tt.is != nil && !errors.Is(err, tt.is)) || (tt.is == nil && !errors.As(err, &be)) {
					t.Fatalf("got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, isRSA := key.Public().(*rsa.PublicKey); isRSA != tt.rsa {
				t.Fatalf("got a %T", key.Public())
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	for _, tt := range []struct {
		alg  string
		bits int // RSA modulus, 0 for EC
	}{{pemfile.AlgES256, 0}, {pemfile.AlgRS256, 3072}} {
		t.Run("ok/"+tt.alg, func(t *testing.T) {
			data, err := pemfile.GenerateKey(tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := pem.Decode(data); b == nil || b.Type != "PRIVATE KEY" {
				t.Fatalf("not a PKCS#8 PEM block: %q", data)
			}
			key, err := pemfile.PrivateKey(data)
			if err != nil {
				t.Fatal(err)
			}
			switch pub := key.Public().(type) {
			case *rsa.PublicKey:
				if pub.N.BitLen() != tt.bits {
					t.Fatalf("RSA key of %d bits", pub.N.BitLen())
				}
			case *ecdsa.PublicKey:
				if tt.bits != 0 || pub.Curve != elliptic.P256() {
					t.Fatalf("EC key on %s", pub.Curve.Params().Name)
				}
			}
		})
	}
	if _, err := pemfile.GenerateKey("HS256"); err == nil {
		t.Fatal("fail/HS256: a key was generated")
	}
}
