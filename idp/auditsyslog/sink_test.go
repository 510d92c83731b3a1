package auditsyslog

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/internal/freeport"
)

// collector is a real TCP (or TLS) syslog listener that reads
// octet-counted frames.
type collector struct {
	ln     net.Listener
	mu     sync.Mutex
	frames []string
	conns  []net.Conn
}

func listen(t *testing.T, addr string, cfg *tls.Config) *collector {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the address may be in TIME_WAIT after a restart
		if cfg != nil {
			ln, err = tls.Listen("tcp", addr, cfg)
		} else {
			ln, err = net.Listen("tcp", addr)
		}
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{ln: ln}
	go c.accept()
	t.Cleanup(c.stop)
	return c
}

func (c *collector) accept() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.mu.Unlock()
		go c.read(conn)
	}
}

// read parses RFC 6587 octet counting: "LEN SP MSG".
func (c *collector) read(conn net.Conn) {
	r := bufio.NewReader(conn)
	for {
		n, err := r.ReadString(' ')
		if err != nil {
			return
		}
		size, err := strconv.Atoi(strings.TrimSuffix(n, " "))
		if err != nil {
			c.add("BAD FRAME LENGTH " + n)
			return
		}
		msg := make([]byte, size)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		c.add(string(msg))
	}
}

func (c *collector) add(s string) {
	c.mu.Lock()
	c.frames = append(c.frames, s)
	c.mu.Unlock()
}

func (c *collector) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.frames...)
}

func (c *collector) stop() {
	c.ln.Close()
	c.mu.Lock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.mu.Unlock()
}

func (c *collector) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(c.got()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("collector got %d frames, want %d", len(c.got()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c.got()
}

type counts struct{ sent, dropped, depth atomic.Int64 }

func (o *counts) SyslogQueueDepth(n int) { o.depth.Store(int64(n)) }
func (o *counts) SyslogSent()            { o.sent.Add(1) }
func (o *counts) SyslogDropped()         { o.dropped.Add(1) }

func event(i int) registry.Event {
	return registry.Event{At: time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC), Kind: registry.KindLogin,
		Outcome: registry.OutcomeFailure, Reason: "revoked", FiscalCode: "RSSMRA85T10A562S", RequestID: fmt.Sprintf("r%d", i),
		Issuer: `CA "Test" [x]`, Detail: []byte(`{"detail":"x"}`)}
}

// rfc5424 is the shape of cnsgate's messages (RFC 5424 §6).
var rfc5424 = regexp.MustCompile(`^<109>1 2026-03-01T10:00:00\.123456Z host cnsgate \d+ login \[cnsgate@32473 kind="login" outcome="failure" reason="revoked" fiscal_code="RSS\*{12}S" issuer="CA \\"Test\\" \[x\\\]" request_id="r(\d+)" detail="\{\\"detail\\":\\"x\\"\}"\]$`)

func TestSinkSendsRFC5424OverTCPAndRetries(t *testing.T) {
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	col := listen(t, addr, nil)
	obs := &counts{}
	s, err := New(Config{Address: addr, Hostname: "host", RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond}, obs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		s.Send(event(i))
	}
	for i, f := range col.wait(t, 5) {
		m := rfc5424.FindStringSubmatch(f)
		if m == nil || m[1] != strconv.Itoa(i) {
			t.Fatalf("frame %d is not the expected RFC 5424 message:\n%s", i, f)
		}
	}
	// The collector goes away; events sent meanwhile wait and are retried.
	col.stop()
	time.Sleep(2 * idleCheck)
	for i := 5; i < 10; i++ {
		s.Send(event(i))
	}
	time.Sleep(100 * time.Millisecond)
	col2 := listen(t, addr, nil)
	got := col2.wait(t, 5)
	for i, f := range got {
		if m := rfc5424.FindStringSubmatch(f); m == nil || m[1] != strconv.Itoa(i+5) {
			t.Fatalf("after the restart, frame %d: %s", i, f)
		}
	}
	s.Close(context.Background())
	if obs.sent.Load() != 10 || obs.dropped.Load() != 0 {
		t.Fatalf("sent %d dropped %d, want 10 and 0", obs.sent.Load(), obs.dropped.Load())
	}
}

func TestSinkFullQueueDropsCountedAndNeverBlocks(t *testing.T) {
	addr, err := freeport.Addr() // nobody listens: every dial fails
	if err != nil {
		t.Fatal(err)
	}
	obs := &counts{}
	var logs strings.Builder
	var mu sync.Mutex
	s, err := New(Config{Address: addr, Queue: 4, RetryMin: time.Hour}, obs, newLogger(&logs, &mu))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 100; i++ {
		s.Send(event(i))
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("100 sends to a dead collector took %s: Send blocked", took)
	}
	// One in the sender's hands, four queued, the rest dropped.
	if d := obs.dropped.Load(); d < 95 || d > 96 {
		t.Fatalf("dropped %d of 100 with a queue of 4, want 95 or 96", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s.Close(ctx)
	if d := obs.dropped.Load(); d != 100 {
		t.Fatalf("after Close with the collector down: dropped %d, want all 100 counted", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "audit syslog: event dropped"); n != 100 {
		t.Fatalf("%d drop log lines, want 100", n)
	}
	if strings.Contains(logs.String(), "RSSMRA85T10A562S") {
		t.Fatal("a drop log line names the citizen")
	}
}

func TestSinkTLS(t *testing.T) {
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	cert, leaf := selfSigned(t)
	col := listen(t, addr, &tls.Config{Certificates: []tls.Certificate{cert}})
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	s, err := New(Config{Address: addr, Hostname: "host", TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	s.Send(event(0))
	if f := col.wait(t, 1)[0]; !rfc5424.MatchString(f) {
		t.Fatalf("frame over TLS: %s", f)
	}
}

// selfSigned is a collector's certificate for 127.0.0.1.
func selfSigned(t *testing.T) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// lockedWriter serialises the log lines of the sink's goroutines.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newLogger(w io.Writer, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{w, mu}, nil))
}
