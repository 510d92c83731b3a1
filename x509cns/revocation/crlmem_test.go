package revocation

import (
	"math/big"
	"runtime"
	"testing"
	"time"
)

// TestLargeTableOffHeap: a table of 100,000 entries keeps its arrays
// outside the Go heap (on unix), answers every lookup as a heap table
// does, diffs against another, and its mappings are given back once it is
// unreachable, while a table still in use keeps answering.
func TestLargeTableOffHeap(t *testing.T) {
	const n = 100_000
	build := func(extra int64) *serialTable {
		tb := newSerialTable(n, 4)
		for i := range n {
			key := big.NewInt(int64(i)*7 + 1 + extra).FillBytes(make([]byte, 4))
			tb.set(i, key, int64(1_700_000_000+i), uint8(i%10))
		}
		tb.buildIndex()
		return tb
	}
	before := mapped.Load()
	keep := build(0)
	if !offHeap {
		t.Skip("no mapping outside the heap on " + runtime.GOOS)
	}
	if mapped.Load()-before != 2 {
		t.Fatalf("a table of %d entries made %d mappings, want 2 (records and slots)", n, mapped.Load()-before)
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		e, ok := keep.lookup(big.NewInt(int64(i)*7 + 1))
		if !ok || e.at.Unix() != int64(1_700_000_000+i) || e.reason != i%10 {
			t.Fatalf("lookup of entry %d: %v %v", i, e, ok)
		}
	}
	if _, ok := keep.lookup(big.NewInt(3)); ok {
		t.Fatal("an unlisted serial was found")
	}
	if got := added(keep, build(7)); len(got) == 0 {
		t.Fatal("no serial added between two different tables")
	}

	gone := unmapped.Load()
	for range 3 {
		build(0) // dropped at once
	}
	deadline := time.Now().Add(10 * time.Second)
	for unmapped.Load()-gone < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("mappings given back: %d of at least 6", unmapped.Load()-gone)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if e, ok := keep.lookup(big.NewInt(int64(n-1)*7 + 1)); !ok || e.reason != (n-1)%10 {
		t.Fatalf("the table in use after the others were unmapped: %v %v", e, ok)
	}
	runtime.KeepAlive(keep)
}
