package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowest is the first port handed out: above the well-known and registered
// ports most services use.
const lowest = 20000

var (
	mu     sync.Mutex
	issued = map[int]bool{}
)

// Port returns a loopback TCP port nobody listens on now, outside the
// kernel's ephemeral range, never returned before by this process.
func Port() (int, error) {
	high := ephemeralLow()
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		p := lowest + rand.IntN(high-lowest)
		if issued[p] || !free(p) {
			continue
		}
		issued[p] = true
		return p, nil
	}
	return 0, errors.New("freeport: no free loopback port found after 200 tries")
}

// Addr is Port as "127.0.0.1:port".
func Addr() (string, error) {
	p, err := Port()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

// free reports whether port p can be bound on 127.0.0.1 now.
func free(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux
// ip_local_port_range), 32768 when it cannot be read.
func ephemeralLow() int {
	raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= lowest+1000 {
		return 32768
	}
	return n
}
