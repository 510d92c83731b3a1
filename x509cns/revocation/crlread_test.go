package revocation

import (
	"bytes"
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
	pem := append([]byte("-----BEGIN X509 CRL-----\n"), bytes.Repeat([]byte("A"), 2000)...)
	for _, tc := range []struct {
		name     string
		in       io.Reader
		hint     int64
		want     []byte
		wantErr  error
		maxRead  int64
		anyError bool
	}{
		{"ok/der-one-byte-reads", iotest.OneByteReader(bytes.NewReader(small)), -1, small, nil, 106, false},
		{"ok/der-short-form", bytes.NewReader(shortForm), 0, shortForm, nil, 5, false},
		{"ok/der-trailing-newline", bytes.NewReader(append(append([]byte(nil), small...), '\n')), -1, small, nil, 107, false},
		{"ok/pem-within-limit", bytes.NewReader(pem[:900]), -1, pem[:900], nil, 900, false},
		{"ok/too-short", bytes.NewReader([]byte{0x30}), -1, []byte{0x30}, nil, 1, false},
		{"fail/announced", bytes.NewReader(small), limit + 1, nil, ErrTooLarge, 0, false},
		{"fail/der-header-over-limit", io.MultiReader(bytes.NewReader(derHeader(200<<20)), endless(0)), -1, nil, ErrTooLarge, 6, false},
		{"fail/der-trailing-flood", io.MultiReader(bytes.NewReader(small), endless(0)), -1, nil, ErrTooLarge, limit + 1, false},
		{"fail/pem-flood", io.MultiReader(bytes.NewReader(pem), endless('A')), -1, nil, ErrTooLarge, limit + 1, false},
		{"fail/indefinite-length", bytes.NewReader([]byte{0x30, 0x80, 0, 0}), -1, nil, ErrMalformed, 2, false},
		{"fail/length-of-length", bytes.NewReader([]byte{0x30, 0x89, 1, 2, 3}), -1, nil, ErrMalformed, 2, false},
		{"fail/truncated", bytes.NewReader(small[:50]), -1, nil, nil, 50, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: tc.in}
			got, err := readBounded(cr, limit, tc.hint)
			switch {
			case tc.anyError && err == nil, !tc.anyError && tc.wantErr == nil && err != nil:
				t.Fatalf("err %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			case tc.want != nil && !bytes.Equal(got, tc.want):
				t.Fatalf("got %d bytes, want %d", len(got), len(tc.want))
			}
			if cr.n > tc.maxRead {
				t.Fatalf("read %d bytes, at most %d expected", cr.n, tc.maxRead)
			}
			if tc.want != nil && int64(cap(got)) > 2*int64(len(tc.want))+readInitialChunk {
				t.Fatalf("buffer of %d bytes for %d", cap(got), len(got))
			}
		})
	}
}
