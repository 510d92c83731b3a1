package revocation

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"slices"
	"testing"
)

// TestSerialKey: a serial and the DER content of the same INTEGER give the
// same key at any width that holds them, and none at a width that does not.
func TestSerialKey(t *testing.T) {
	tests := []struct {
		name   string
		serial *big.Int
		width  int
		fits   bool
	}{
		{"ok/zero", big.NewInt(0), 1, true},
		{"ok/small-wide", big.NewInt(5), 20, true},
		{"ok/high-bit", big.NewInt(128), 2, true},
		{"fail/high-bit-narrow", big.NewInt(128), 1, false},
		{"ok/negative", big.NewInt(-129), 3, true},
		{"fail/negative-narrow", big.NewInt(-129), 1, false},
		{"ok/20-bytes", new(big.Int).SetBytes(bytes.Repeat([]byte{0x7f}, 20)), 20, true},
		{"fail/21-bytes", new(big.Int).SetBytes(bytes.Repeat([]byte{0xff}, 20)), 20, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := make([]byte, tc.width)
			if got := serialKey(tc.serial, key); got != tc.fits {
				t.Fatalf("fits = %v", got)
			}
			if !tc.fits {
				return
			}
			der, _ := asn1.Marshal(tc.serial)
			want := make([]byte, tc.width)
			putKey(want, der[2:])
			if !bytes.Equal(key, want) || keyInt(key).Cmp(tc.serial) != 0 {
				t.Fatalf("key %x, want %x (back: %v)", key, want, keyInt(key))
			}
		})
	}
}

// TestAddedAcrossWidths: the diff of two tables compares values, whatever
// the width of each table's keys and the sign of the serials.
func TestAddedAcrossWidths(t *testing.T) {
	table := func(serials ...int64) *serialTable {
		width := 1
		var contents [][]byte
		for _, s := range serials {
			der, _ := asn1.Marshal(big.NewInt(s))
			contents = append(contents, der[2:])
			width = max(width, len(der)-2)
		}
		tb := newSerialTable(len(serials), width)
		for i, c := range contents {
			tb.set(i, c, int64(i), 0)
		}
		tb.buildIndex()
		return tb
	}
	tests := []struct {
		name      string
		prev, cur *serialTable
		want      []int64
	}{
		{"ok/same-width", table(1, 2, 3), table(3, 4, 1, 2), []int64{4}},
		{"ok/wider-now", table(5, 127), table(5, 127, 70000, -1), []int64{70000, -1}},
		{"ok/narrower-now", table(5, 70000, -129), table(5, -1, 100), []int64{-1, 100}},
		{"ok/from-empty", table(), table(9), []int64{9}},
		{"ok/nothing-new", table(-300, 300), table(300), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []int64
			for _, s := range added(tc.prev, tc.cur) {
				got = append(got, s.Int64())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("added = %v, want %v", got, tc.want)
			}
			for i := range tc.cur.Len() {
				if _, ok := tc.cur.lookup(keyInt(tc.cur.key(i))); !ok {
					t.Fatalf("lookup of entry %d failed", i)
				}
			}
		})
	}
}
