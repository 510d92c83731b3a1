//go:build !unix

package revocation

// offHeap: no mapping outside the heap here; tables live on the heap.
const offHeap = false

// mapAnon maps nothing.
func mapAnon(int) ([]byte, bool) { return nil, false }

func unmapAnon([]byte) {}
