package cnstest

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"runtime"
	"sync"
)

// SharedKeys is the number of distinct keys per size that SharedKey hands
// out; card keys cycle through them.
const SharedKeys = 8

// keyPool is the process-wide cache of RSA keys. It is the only mutable
// package-level state of cnstest: generating a 2048-bit key takes ~100 ms, and
// a test suite that mints sixty certificates must not pay that sixty times.
type keyPool struct {
	mu     sync.Mutex
	stock  map[int][]*rsa.PrivateKey // fresh keys, each handed out once by Key
	shared map[int]*[SharedKeys]sharedSlot
}

type sharedSlot struct {
	once sync.Once
	key  *rsa.PrivateKey
	err  error
}

var pool = &keyPool{
	stock:  map[int][]*rsa.PrivateKey{},
	shared: map[int]*[SharedKeys]sharedSlot{},
}

func checkBits(bits int) error {
	if bits < 1024 || bits > 8192 {
		return fmt.Errorf("cnstest: RSA key size %d out of range 1024..8192", bits)
	}
	return nil
}

// Key returns an RSA key of the given size that no other caller in this
// process has received, taking it from the stock filled by Warm or
// generating it on the spot. Use it where uniqueness matters: CA keys (their
// SubjectKeyId must differ), "another key" cases.
func Key(bits int) (*rsa.PrivateKey, error) {
	if err := checkBits(bits); err != nil {
		return nil, err
	}
	pool.mu.Lock()
	if s := pool.stock[bits]; len(s) > 0 {
		k := s[len(s)-1]
		pool.stock[bits] = s[:len(s)-1]
		pool.mu.Unlock()
		return k, nil
	}
	pool.mu.Unlock()
	// crypto/rsa ignores the reader since Go 1.26; pass the system one.
	return rsa.GenerateKey(rand.Reader, bits)
}

// MustKey is Key for tests and examples: it panics if generation fails.
func MustKey(bits int) *rsa.PrivateKey {
	k, err := Key(bits)
	if err != nil {
		panic(err)
	}
	return k
}

// Warm generates n fresh keys of the given size on every CPU in parallel and
// adds them to the stock that Key draws from. Call it from TestMain (or
// before a loop that needs many unique keys) to cut wall-clock time; it is
// never required.
func Warm(bits, n int) error {
	if err := checkBits(bits); err != nil {
		return err
	}
	workers := min(runtime.GOMAXPROCS(0), n)
	keys := make(chan *rsa.PrivateKey, n)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		share := n/workers + btoi(w < n%workers)
		wg.Go(func() {
			for range share {
				k, err := rsa.GenerateKey(rand.Reader, bits)
				if err != nil {
					errs <- err
					return
				}
				keys <- k
			}
		})
	}
	wg.Wait()
	close(keys)
	close(errs)
	pool.mu.Lock()
	for k := range keys {
		pool.stock[bits] = append(pool.stock[bits], k)
	}
	pool.mu.Unlock()
	return <-errs // nil when the channel is empty
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SharedKey returns the i-th (modulo SharedKeys) reusable key of the given
// size: the same (bits, i) gives the same key for the life of the process,
// generated on first use. Cards use shared keys unless
// CardOptions.UniqueKey is set, so a suite pays for at most SharedKeys
// generations per size however many cards it mints.
func SharedKey(bits, i int) (*rsa.PrivateKey, error) {
	if err := checkBits(bits); err != nil {
		return nil, err
	}
	i %= SharedKeys
	if i < 0 {
		i += SharedKeys
	}
	pool.mu.Lock()
	slots := pool.shared[bits]
	if slots == nil {
		slots = new([SharedKeys]sharedSlot)
		pool.shared[bits] = slots
	}
	pool.mu.Unlock()
	s := &slots[i]
	s.once.Do(func() { s.key, s.err = rsa.GenerateKey(rand.Reader, bits) })
	return s.key, s.err
}
