package revocation

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/big"
	"math/bits"
	"runtime"
	"time"
)

// serialTable holds the entries of one CRL in two flat arrays, so that a
// million entries are two allocations and ~33 bytes each. Each entry is a
// fixed-size record: the serial as a fixed-width key (its DER
// two's-complement content, sign-extended to the widest serial of the CRL,
// which keeps distinct values distinct), the revocation time in Unix
// seconds (8 bytes, big-endian) and the reason code (1 byte), in CRL
// order, so a hit reads one record. An open-addressing hash index (uint32
// slots with an 8-bit hash tag, load ≤ ½, linear probing, per-table random
// seed) finds a key in one or two probes whatever the size of the CRL, so
// a login costs about the same against ten entries or a million.
type serialTable struct {
	width  int
	stride int    // width + 9
	recs   []byte // n records of stride bytes
	seed   maphash.Seed
	slots  []uint32 // 0 is empty; len is a power of two (see slotFor)
	tagged bool
	// mappedBytes is how much of the arrays lives outside the Go heap.
	mappedBytes int
}

// revokedEntry is one looked-up entry.
type revokedEntry struct {
	at     time.Time
	reason int
}

// newSerialTable returns a table of n zeroed records. Its arrays may live
// outside the Go heap (crlmem.go) and be unmapped once the table is
// unreachable: no slice of them may outlive the table, so every method
// that reads them keeps the table alive to its end (runtime.KeepAlive).
func newSerialTable(n, width int) *serialTable {
	t := &serialTable{width: width, stride: width + 9}
	t.recs = tableBytes(t, n*(width+9))
	return t
}

func (t *serialTable) Len() int {
	if t.stride == 0 {
		return 0
	}
	return len(t.recs) / t.stride
}

// residentBytes is the memory held by the table's arrays.
func (t *serialTable) residentBytes() int { return cap(t.recs) + 4*cap(t.slots) }

func (t *serialTable) key(i int) []byte { return t.recs[i*t.stride : i*t.stride+t.width] }

// set fills record i.
func (t *serialTable) set(i int, serial []byte, when int64, reason uint8) {
	defer runtime.KeepAlive(t)
	r := t.recs[i*t.stride : (i+1)*t.stride]
	putKey(r[:t.width], serial)
	binary.BigEndian.PutUint64(r[t.width:], uint64(when))
	r[t.width+8] = reason
}

// entry reads the time and reason of record i.
func (t *serialTable) entry(i int) (when int64, reason uint8) {
	r := t.recs[i*t.stride+t.width : (i+1)*t.stride]
	return int64(binary.BigEndian.Uint64(r)), r[8]
}

// Slots hold the entry index + 1 in their low 24 bits and 8 bits of the
// key's hash above, so that a probe rejects most other keys without
// reading their record. Tables of 2^24-1 entries or more (a CRL of half a
// gigabyte) use all 32 bits for the index and no tag.
const (
	slotIndexBits = 24
	slotIndexMask = 1<<slotIndexBits - 1
)

// slotFor returns the slot value for entry i with hash h.
func (t *serialTable) slotFor(i int, h uint64) uint32 {
	if t.tagged {
		return uint32(i+1) | uint32(h>>56)<<slotIndexBits
	}
	return uint32(i + 1)
}

// probe walks the index from key's home slot; it returns the slot where
// key is, or the empty slot where it would go, and whether it was found.
func (t *serialTable) probe(key []byte) (slot int, found bool) {
	h := maphash.Bytes(t.seed, key)
	mask := len(t.slots) - 1
	want := t.slotFor(0, h) &^ slotIndexMask
	for s := int(h) & mask; ; s = (s + 1) & mask {
		e := t.slots[s]
		if e == 0 {
			return s, false
		}
		if t.tagged {
			if e&^slotIndexMask != want {
				continue
			}
			e &= slotIndexMask
		}
		if bytes.Equal(t.key(int(e-1)), key) {
			return s, true
		}
	}
}

// buildIndex fills the hash index once the records are in place.
func (t *serialTable) buildIndex() {
	defer runtime.KeepAlive(t)
	n := t.Len()
	if n == 0 {
		return
	}
	t.tagged = n < slotIndexMask
	t.seed = maphash.MakeSeed()
	t.slots = tableSlots(t, 1<<bits.Len(uint(2*n-1)))
	for i := range n {
		k := t.key(i)
		if s, dup := t.probe(k); !dup { // a duplicate entry: the first one answers
			t.slots[s] = t.slotFor(i, maphash.Bytes(t.seed, k))
		}
	}
}

// find returns the index of key (exactly t.width bytes).
func (t *serialTable) find(key []byte) (int, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	s, ok := t.probe(key)
	if !ok {
		return 0, false
	}
	e := t.slots[s]
	if t.tagged {
		e &= slotIndexMask
	}
	return int(e - 1), true
}

// lookup reports whether serial is listed, without allocating for the
// serials real certificates carry (up to 32 bytes, non-negative).
func (t *serialTable) lookup(serial *big.Int) (revokedEntry, bool) {
	defer runtime.KeepAlive(t) // its arrays may be unmapped once it is unreachable
	if t.Len() == 0 || serial == nil {
		return revokedEntry{}, false
	}
	var buf [32]byte
	var key []byte
	if t.width <= len(buf) {
		key = buf[:t.width]
	} else {
		key = make([]byte, t.width)
	}
	if !serialKey(serial, key) {
		return revokedEntry{}, false
	}
	i, ok := t.find(key)
	if !ok {
		return revokedEntry{}, false
	}
	when, reason := t.entry(i)
	return revokedEntry{at: time.Unix(when, 0).UTC(), reason: int(reason)}, true
}

// serialKey writes n into key as a sign-extended two's-complement number of
// len(key) bytes; false when n does not fit, so it is in no table of that
// width.
func serialKey(n *big.Int, key []byte) bool {
	if n.Sign() >= 0 {
		if n.BitLen()/8+1 > len(key) {
			return false
		}
		n.FillBytes(key)
		return true
	}
	m := new(big.Int).Not(n) // −n−1 ≥ 0
	if m.BitLen()/8+1 > len(key) {
		return false
	}
	m.FillBytes(key)
	for i := range key {
		key[i] ^= 0xff
	}
	return true
}

// putKey stores DER integer content (minimal, non-empty) into slot.
func putKey(slot, content []byte) {
	pad := byte(0)
	if content[0]&0x80 != 0 {
		pad = 0xff
	}
	d := len(slot) - len(content)
	for i := range d {
		slot[i] = pad
	}
	copy(slot[d:], content)
}

// rewidth re-encodes a key at width w into out (len w); false when the
// value does not fit in w bytes.
func rewidth(key, out []byte) bool {
	w := len(out)
	if len(key) <= w {
		putKey(out, key)
		return true
	}
	d := len(key) - w
	pad := byte(0)
	if key[d]&0x80 != 0 {
		pad = 0xff
	}
	for _, b := range key[:d] {
		if b != pad {
			return false
		}
	}
	copy(out, key[d:])
	return true
}

// keyInt converts a key back to the serial.
func keyInt(key []byte) *big.Int {
	if len(key) == 0 || key[0]&0x80 == 0 {
		return new(big.Int).SetBytes(key)
	}
	inv := make([]byte, len(key))
	for i, b := range key {
		inv[i] = ^b
	}
	n := new(big.Int).SetBytes(inv)
	return n.Not(n)
}

// added returns the serials listed in cur and not in prev, in cur's order,
// probing prev's index once per entry of cur.
func added(prev, cur *serialTable) []*big.Int {
	defer runtime.KeepAlive(prev)
	defer runtime.KeepAlive(cur)
	var out []*big.Int
	k := make([]byte, prev.width)
	for j := range cur.Len() {
		if prev.Len() > 0 && rewidth(cur.key(j), k) {
			if _, ok := prev.find(k); ok {
				continue
			}
		}
		out = append(out, keyInt(cur.key(j)))
	}
	return out
}
