package revocation

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless yields b forever.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

// derHeader is a SEQUENCE header announcing n content bytes.
func derHeader(n int) []byte {
	return []byte{0x30, 0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

func TestReadBounded(t *testing.T) {
	const limit = 1000
	small := append(derHeader(100), bytes.Repeat([]byte{1}, 100)...)
	shortForm := append([]byte{0x30, 0x03}, 1, 2, 3)
	smallPEM := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: small})
	withText := append([]byte("Certificate Revocation List (CRL):\n        Version 2 (0x1)\n"), smallPEM...)
	pemHeader := func(n int) []byte { // a PEM block whose DER announces n bytes
		return []byte("-----BEGIN X509 CRL-----\n" + base64.StdEncoding.EncodeToString(derHeader(n)))
	}
	for _, tc := range []struct {
		name    string
		in      io.Reader
		hint    int64
		want    []byte
		wantErr error // nil: want; errAny: any error
		maxRead int64
	}{
		{"ok/der-one-byte-reads", iotest.OneByteReader(bytes.NewReader(small)), -1, small, nil, 106},
		{"ok/der-short-form", bytes.NewReader(shortForm), 0, shortForm, nil, 5},
		{"ok/der-trailing-newline", bytes.NewReader(append(append([]byte(nil), small...), '\n')), -1, small, nil, 107},
		{"ok/pem", bytes.NewReader(smallPEM), int64(len(smallPEM)), small, nil, int64(len(smallPEM))},
		{"ok/pem-after-text", iotest.HalfReader(bytes.NewReader(withText)), -1, small, nil, int64(len(withText))},
		{"fail/announced", bytes.NewReader(small), limit + 1, nil, ErrTooLarge, 0},
		{"fail/der-header-over-limit", io.MultiReader(bytes.NewReader(derHeader(200<<20)), endless(0)), -1, nil, ErrTooLarge, 4096},
		{"fail/der-trailing-flood", io.MultiReader(bytes.NewReader(small), endless(0)), -1, nil, ErrTooLarge, limit + 1},
		{"fail/pem-header-over-limit", io.MultiReader(bytes.NewReader(pemHeader(200<<20)), endless('A')), -1, nil, ErrTooLarge, 4096},
		{"fail/pem-not-a-crl", io.MultiReader(bytes.NewReader(pemHeader(0)[:25]), endless('A')), -1, nil, ErrMalformed, 4096},
		{"fail/pem-without-end", bytes.NewReader(smallPEM[:len(smallPEM)-30]), -1, nil, errAny, int64(len(smallPEM))},
		{"fail/text-flood", endless('x'), -1, nil, ErrMalformed, limit + 1},
		{"fail/html", bytes.NewReader([]byte("<html>maintenance</html>")), -1, nil, ErrMalformed, 100},
		{"fail/empty", bytes.NewReader(nil), -1, nil, ErrMalformed, 0},
		{"fail/indefinite-length", bytes.NewReader([]byte{0x30, 0x80, 0, 0}), -1, nil, ErrMalformed, 4},
		{"fail/length-of-length", bytes.NewReader([]byte{0x30, 0x89, 1, 2, 3}), -1, nil, ErrMalformed, 5},
		{"fail/truncated", bytes.NewReader(small[:50]), -1, nil, errAny, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: tc.in}
			got, err := readBounded(cr, limit, tc.hint)
			switch {
			case tc.wantErr == nil && (err != nil || !bytes.Equal(got, tc.want)):
				t.Fatalf("got %d bytes, %v; want %d bytes", len(got), err, len(tc.want))
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if cr.n > tc.maxRead {
				t.Fatalf("read %d bytes, at most %d expected", cr.n, tc.maxRead)
			}
			if got != nil && cap(got) != len(got) {
				t.Fatalf("buffer of %d bytes for %d", cap(got), len(got))
			}
		})
	}
}

var errAny = errors.New("any error")
