package revocation

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// mapped and unmapped count the mappings made and given back.
var mapped, unmapped atomic.Int64

// offHeapMin is the size from which a table's arrays are mapped outside
// the Go heap (crlmem_unix.go). A CRL of a million entries holds 33 MB in
// two pointer-free arrays: on the heap they would raise the garbage
// collector's goal by as much (GOGC=100 lets the heap grow to twice what
// is live before collecting), so the running server's RSS would settle
// near 2 × 33 B per entry under load, and a replaced table would stay
// resident until the next collection. Mapped, they cost their own size,
// and a replaced table's pages go back to the system as soon as the
// collector finds the table unreachable (runtime.AddCleanup).
const offHeapMin = 1 << 20

// tableBytes returns n zeroed bytes for a table t: mapped outside the heap
// when large (and unmapped once t is unreachable), on the heap otherwise.
func tableBytes(t *serialTable, n int) []byte {
	if n >= offHeapMin {
		if b, ok := mapAnon(n); ok {
			mapped.Add(1)
			t.mappedBytes += n
			runtime.AddCleanup(t, func(b []byte) { unmapAnon(b); unmapped.Add(1) }, b)
			return b
		}
	}
	return make([]byte, n)
}

// tableSlots is tableBytes for n uint32 slots.
func tableSlots(t *serialTable, n int) []uint32 {
	if 4*n < offHeapMin {
		return make([]uint32, n)
	}
	b := tableBytes(t, 4*n)
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}
