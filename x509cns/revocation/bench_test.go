package revocation

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// The benchmark CRL: a million entries, like the CRL of a CA that has
// issued cards for fifteen years, generated once per process into a
// temporary directory that TestMain removes.
const bigEntries = 1_000_000

var big1M struct {
	once    sync.Once
	dir     string
	path    string // DER, 1M entries
	small   string // DER, 10 entries
	ca      *cnstest.CA
	serials [][]byte // listed serials (DER INTEGER contents), sorted
	err     error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if big1M.dir != "" {
		os.RemoveAll(big1M.dir)
	}
	os.Exit(code)
}

// benchNow is the benchmarks' clock: the CRLs are fresh at it.
func benchNow() time.Time { return epoch }

// bigCRL generates the benchmark CRLs. Entries are written as raw DER
// (about 45 bytes each, half with a reasonCode) with random 16-byte
// serials, sorted as CAs issue them, and the TBS is signed once.
func bigCRL(b *testing.B) {
	b.Helper()
	big1M.once.Do(func() {
		start := time.Now()
		key, err := cnstest.SharedKey(2048, slotCA)
		if err != nil {
			big1M.err = err
			return
		}
		ca, err := cnstest.NewRegionalCA("Lombardia", cnstest.WithKey(key), cnstest.WithNow(benchNow))
		if err != nil {
			big1M.err = err
			return
		}
		big1M.ca = ca
		if big1M.dir, err = os.MkdirTemp("", "cnsgate-bench-"); err != nil {
			big1M.err = err
			return
		}
		rng := rand.New(rand.NewChaCha8([32]byte{'c', 'n', 's'}))
		serials := make([][]byte, bigEntries)
		for i := range serials {
			s := make([]byte, 16)
			for j := range s {
				s[j] = byte(rng.Uint32())
			}
			s[0] &= 0x7f // positive
			serials[i] = trimInteger(s)
		}
		slices.SortFunc(serials, func(a, c []byte) int {
			if len(a) != len(c) {
				return len(a) - len(c)
			}
			return bytes.Compare(a, c)
		})
		big1M.serials = serials
		big1M.path = filepath.Join(big1M.dir, "1m.crl")
		big1M.small = filepath.Join(big1M.dir, "10.crl")
		if err := writeBenchCRL(b, big1M.path, ca, serials); err == nil {
			err = writeBenchCRL(b, big1M.small, ca, serials[:10])
			big1M.err = err
		} else {
			big1M.err = err
		}
		fi, _ := os.Stat(big1M.path)
		b.Logf("generated %d-entry CRL (%d bytes) in %v", bigEntries, fi.Size(), time.Since(start).Round(time.Millisecond))
	})
	if big1M.err != nil {
		b.Fatal(big1M.err)
	}
}

// trimInteger makes s a minimal positive DER INTEGER content.
func trimInteger(s []byte) []byte {
	for len(s) > 1 && s[0] == 0 && s[1]&0x80 == 0 {
		s = s[1:]
	}
	return s
}

func writeBenchCRL(b *testing.B, path string, ca *cnstest.CA, serials [][]byte) error {
	var entries bytes.Buffer
	entries.Grow(len(serials) * 48)
	when := []byte(benchNow().Add(-24 * time.Hour).UTC().Format("060102150405Z"))
	for i, s := range serials {
		n := 2 + len(s) + 15
		withReason := i%2 == 0
		if withReason {
			n += 14
		}
		entries.Write([]byte{0x30, byte(n), 0x02, byte(len(s))})
		entries.Write(s)
		entries.Write([]byte{0x17, 13})
		entries.Write(when)
		if withReason {
			entries.Write([]byte{0x30, 12, 0x30, 10, 0x06, 3, 0x55, 0x1d, 0x15, 0x04, 3, 0x0a, 1, byte(i % 6)})
		}
	}
	der := crlSpec{
		version: 1, issuer: ca.Cert, key: ca.Key, number: big.NewInt(4711),
		thisUpdate: benchNow().Add(-time.Hour), nextUpdate: benchNow().Add(7 * 24 * time.Hour),
		writeEntries: func(bld *cryptobyte.Builder) { bld.AddBytes(entries.Bytes()) },
	}.encode(b)
	return os.WriteFile(path, der, 0o600)
}

// opensslBaseline times "openssl crl -inform DER -noout" on the 1M CRL,
// best of three runs (process start included), once per process.
var opensslBaseline = sync.OnceValues(func() (time.Duration, error) {
	best := time.Duration(1 << 62)
	for range 3 {
		start := time.Now()
		out, err := exec.Command("openssl", "crl", "-inform", "DER", "-noout", "-in", big1M.path).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("openssl crl: %v\n%s", err, out)
		}
		best = min(best, time.Since(start))
	}
	return best, nil
})

// BenchmarkCRLLoad1M reads, parses, verifies and indexes the 1M CRL, as a
// refresh does, and reports it against "openssl crl -noout" on the same
// file, with the heap it takes at peak and once loaded.
func BenchmarkCRLLoad1M(b *testing.B) {
	bigCRL(b)
	requireOpenSSL(b)
	baseline, err := opensslBaseline()
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(Options{Now: benchNow})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var p *parsedCRL
	var before, after runtime.MemStats
	var peak uint64
	b.ResetTimer()
	for range b.N {
		p = nil
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		p, _, err = c.readCRLFile(big1M.path)
		if err == nil {
			err = p.checkSignatureFrom(big1M.ca.Cert)
		}
		if err != nil {
			b.Fatal(err)
		}
		p.tbs, p.signature = nil, nil
		b.StopTimer()
		runtime.ReadMemStats(&after) // no GC since: the input is still counted
		peak = max(peak, after.HeapInuse-before.HeapInuse)
		b.StartTimer()
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	// The heap's growth plus the table's arrays mapped outside it.
	resident := int64(after.HeapInuse) - int64(before.HeapInuse) + int64(p.table.mappedBytes)
	if p.table.Len() != bigEntries {
		b.Fatalf("%d entries", p.table.Len())
	}
	b.ReportMetric(float64(baseline.Microseconds())/1000, "openssl-ms")
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "load-ms")
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(baseline), "x-openssl")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(resident)/bigEntries, "resident-B/entry")
	b.ReportMetric(float64(p.table.residentBytes())/bigEntries, "table-B/entry")
	runtime.KeepAlive(p)
}

func benchSerials(b *testing.B, present bool) []*big.Int {
	rng := rand.New(rand.NewChaCha8([32]byte{'l', 'o', 'o', 'k'}))
	out := make([]*big.Int, 4096)
	for i := range out {
		if present {
			out[i] = new(big.Int).SetBytes(big1M.serials[rng.IntN(len(big1M.serials))])
			continue
		}
		s := make([]byte, 16)
		for j := range s {
			s[j] = byte(rng.Uint32())
		}
		s[0] &= 0x7f
		out[i] = new(big.Int).SetBytes(s)
	}
	return out
}

// BenchmarkCRLLookup1M looks up random listed and unlisted serials.
func BenchmarkCRLLookup1M(b *testing.B) {
	bigCRL(b)
	c, err := New(Options{Now: benchNow})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p, _, err := c.readCRLFile(big1M.path)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		present bool
	}{{"present", true}, {"absent", false}} {
		b.Run(tc.name, func(b *testing.B) {
			serials := benchSerials(b, tc.present)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, ok := p.table.lookup(serials[i&4095]); ok != tc.present {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}

// BenchmarkCheck is a login's whole revocation check of a good card in
// mode crl, against the 1M CRL and against a 10-entry CRL of the same CA:
// "same-card" repeats one card (caches hot), "many-cards" checks another
// of 4096 cards each time (copies of one issued card with random serials:
// Check reads only the serial and the URLs), so the lookups miss the CPU
// caches as different citizens' logins do.
func BenchmarkCheck(b *testing.B) {
	bigCRL(b)
	card, err := big1M.ca.IssueCard(cnstest.CardOptions{})
	if err != nil {
		b.Fatal(err)
	}
	many := make([]*x509.Certificate, 4096)
	for i, serial := range benchSerials(b, false) {
		leaf := *card.Cert
		leaf.SerialNumber = serial
		many[i] = &leaf
	}
	same := slices.Repeat([]*x509.Certificate{card.Cert}, len(many))
	trust := x509cns.NewTrustStore()
	trust.Add(big1M.ca.Cert, "bench")
	for _, crl := range []struct{ name, path string }{{"crl-1M", big1M.path}, {"crl-10", big1M.small}} {
		c, err := New(Options{Mode: ModeCRL, CRLFiles: []string{crl.path}, Issuers: trust, Now: benchNow})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Start(bg()); err != nil {
			b.Fatal(err)
		}
		for _, cards := range []struct {
			name   string
			leaves []*x509.Certificate
		}{{"same-card", same}, {"many-cards", many}} {
			b.Run(crl.name+"/"+cards.name, func(b *testing.B) {
				b.ReportAllocs()
				for i := range b.N {
					if r := c.Check(bg(), cards.leaves[i&4095], big1M.ca.Cert); r.Status != StatusGood {
						b.Fatalf("%v: %v", r.Status, r.Cause)
					}
				}
			})
		}
		c.Close()
	}
}
