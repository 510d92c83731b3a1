//go:build unix

package revocation

import "syscall"

// offHeap: tables map their large arrays outside the Go heap.
const offHeap = true

// mapAnon maps n bytes of private anonymous memory (zeroed by the kernel).
func mapAnon(n int) ([]byte, bool) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	return b, err == nil
}

// unmapAnon gives a mapping of mapAnon back.
func unmapAnon(b []byte) { _ = syscall.Munmap(b) }
