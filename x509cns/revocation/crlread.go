package revocation

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
)

// readInitialChunk is the first allocation when reading a CRL whose size
// is known neither from the transport nor from its DER header (PEM).
const readInitialChunk = 64 << 10

// largeCRL is the size above which the input of a parse is given back to
// the operating system at once rather than when the scavenger gets to it.
const largeCRL = 16 << 20

// readBounded reads a CRL of at most limit bytes, holding one copy of it.
// sizeHint (a Content-Length or a file size, -1 or 0 when unknown) above
// limit refuses it before reading. A DER CRL is sized from its outer
// SEQUENCE header: refused after a few bytes when that is over limit,
// otherwise read into one buffer of exactly its size, and trailing bytes,
// discarded, count against limit. Anything else (PEM) is read into a
// buffer that doubles up to limit+1 bytes at most. It never reads more
// than limit+1 bytes from r.
func readBounded(r io.Reader, limit, sizeHint int64) ([]byte, error) {
	if sizeHint > limit {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, sizeHint, limit)
	}
	var head [6]byte
	n, err := io.ReadFull(r, head[:2])
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return head[:n], nil // too short for a CRL: the parser says so
		}
		return nil, err
	}
	if head[0] != 0x30 {
		return readGrowing(head[:2], r, limit, sizeHint)
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
		return nil, fmt.Errorf("CRL truncated (%d bytes announced by its header): %w", total, err)
	}
	extra, err := io.Copy(io.Discard, io.LimitReader(r, limit-total+1))
	if err != nil {
		return nil, err
	}
	if total+extra > limit {
		return nil, fmt.Errorf("%w: over %d bytes (trailing data after the CRL)", ErrTooLarge, limit)
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

// readGrowing reads prefix and then r into a buffer that starts at the
// size hint (or readInitialChunk) and doubles, capped at limit+1 bytes.
func readGrowing(prefix []byte, r io.Reader, limit, sizeHint int64) ([]byte, error) {
	size := int64(readInitialChunk)
	if sizeHint > 0 {
		size = sizeHint + 1
	}
	buf := make([]byte, len(prefix), min(max(size, int64(len(prefix))), limit+1))
	copy(buf, prefix)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				size := len(buf)
				buf = nil
				releaseInput(size)
				return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			if int64(len(buf)) > limit {
				return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// releaseInput gives the memory of a large parsed input back to the
// operating system once nothing refers to it.
func releaseInput(size int) {
	if size >= largeCRL {
		debug.FreeOSMemory()
	}
}
