package revocation

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
)

// largeCRL is the size above which the input of a parse is given back to
// the operating system at once rather than when the scavenger gets to it.
const largeCRL = 16 << 20

// pemPreamble bounds the text read before a PEM CRL's BEGIN line (openssl
// crl -text writes the CRL in words before it).
const pemPreamble = 1 << 20

var (
	pemBegin = []byte("-----BEGIN X509 CRL-----")
	pemEnd   = []byte("-----END X509 CRL-----")
)

// readBounded reads a DER or PEM CRL of at most limit bytes, as sent, into
// one buffer of exactly its DER size; it never reads more than limit+1
// bytes of r. sizeHint (a Content-Length or a file size; 0 or -1 when
// unknown) above limit refuses it before reading. The DER size comes from
// the outer SEQUENCE header, so a CRL announcing more than limit is
// refused after a few bytes and anything that does not start as a CRL
// after one; a PEM CRL is decoded as it is read. Bytes after the CRL are
// discarded but count against limit.
func readBounded(r io.Reader, limit, sizeHint int64) ([]byte, error) {
	if sizeHint > limit {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, sizeHint, limit)
	}
	lr := &io.LimitedReader{R: r, N: limit + 1}
	br := bufio.NewReaderSize(lr, 4096)
	first, err := firstByte(br)
	if err != nil {
		return nil, err
	}
	in := io.Reader(br)
	if first != 0x30 {
		if in, err = pemBody(br); err != nil {
			return nil, overLimit(lr, err, limit)
		}
	}
	der, err := readDER(in, limit)
	if err != nil {
		return nil, overLimit(lr, err, limit)
	}
	_, err = io.Copy(io.Discard, br) // the rest counts against limit
	if err == nil && lr.N <= 0 {
		err = fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	if err != nil {
		size := len(der)
		der = nil
		releaseInput(size)
		return nil, overLimit(lr, err, limit)
	}
	return der, nil
}

// overLimit reports a truncation as ErrTooLarge when the input hit the
// limit (a PEM CRL whose text is over limit).
func overLimit(lr *io.LimitedReader, err error, limit int64) error {
	if lr.N <= 0 && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) {
		return fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	return err
}

// firstByte peeks at the first byte that is not white space.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, malformed("empty CRL")
			}
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			return b, br.UnreadByte()
		}
	}
}

// readDER reads one DER element of at most limit bytes into a buffer of
// its size.
func readDER(r io.Reader, limit int64) ([]byte, error) {
	var head [6]byte
	if _, err := io.ReadFull(r, head[:2]); err != nil {
		return nil, malformed("CRL header: %v", err)
	}
	if head[0] != 0x30 {
		return nil, malformed("not a DER CRL (starts with 0x%02x)", head[0])
	}
	total, hlen, err := derLength(head[:], r)
	if err != nil {
		return nil, err
	}
	if total > limit {
		return nil, fmt.Errorf("%w: DER CRL of %d bytes, limit %d", ErrTooLarge, total, limit)
	}
	buf := make([]byte, total)
	copy(buf, head[:hlen])
	if _, err := io.ReadFull(r, buf[hlen:]); err != nil {
		buf = nil
		releaseInput(int(total))
		return nil, fmt.Errorf("CRL truncated (%d bytes announced by its header): %w", total, err)
	}
	return buf, nil
}

// derLength reads the rest of the length octets of the DER header whose
// first two bytes are in head, and returns the length of the whole
// element and of its header.
func derLength(head []byte, r io.Reader) (total int64, hlen int, err error) {
	l := head[1]
	switch {
	case l < 0x80:
		return 2 + int64(l), 2, nil
	case l == 0x80:
		return 0, 0, malformed("CRL with an indefinite length (BER, not DER)")
	case l > 0x84:
		return 0, 0, malformed("CRL length of %d octets", l&0x7f)
	}
	k := int(l & 0x7f)
	if _, err := io.ReadFull(r, head[2:2+k]); err != nil {
		return 0, 0, malformed("CRL header truncated: %v", err)
	}
	var v int64
	for _, b := range head[2 : 2+k] {
		v = v<<8 | int64(b)
	}
	return int64(2+k) + v, 2 + k, nil
}

// pemBody skips to the BEGIN X509 CRL line (within pemPreamble bytes) and
// returns a reader of the decoded block, which ends at the END line.
func pemBody(br *bufio.Reader) (io.Reader, error) {
	var seen int
	for seen < pemPreamble {
		line, err := br.ReadSlice('\n')
		seen += len(line)
		if bytes.Equal(bytes.TrimSpace(line), pemBegin) {
			return base64.NewDecoder(base64.StdEncoding, &pemText{br: br}), nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
	}
	return nil, malformed("neither DER nor a PEM X509 CRL")
}

// pemText yields the base64 text of a PEM block, without line breaks, up
// to its END line.
type pemText struct {
	br   *bufio.Reader
	done bool
}

func (p *pemText) Read(out []byte) (int, error) {
	n := 0
	for n < len(out) && !p.done {
		b, err := p.br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, io.ErrUnexpectedEOF // no END line
			}
			return n, err
		}
		switch b {
		case '\r', '\n', ' ', '\t':
		case '-':
			_ = p.br.UnreadByte()
			end, _ := p.br.Peek(len(pemEnd))
			if !bytes.Equal(end, pemEnd) {
				return n, malformed("PEM CRL: unexpected '-'")
			}
			p.done = true
		default:
			out[n] = b
			n++
		}
	}
	if p.done && n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// releaseInput gives the memory of a large parsed input back to the
// operating system once nothing refers to it.
func releaseInput(size int) {
	if size >= largeCRL {
		debug.FreeOSMemory()
	}
}
