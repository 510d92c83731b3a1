package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAuditSyslogSink runs serve with audit.syslog pointing at a real TCP
// listener of the test: a refused card login reaches it as an RFC 5424
// message in an octet-counted frame, with the reason and the masked fiscal
// code, and is counted in cnsgate_audit_syslog_sent_total; with the
// collector gone, logins are answered as fast and the events wait
// (cnsgate_audit_syslog_queue_depth).
func TestAuditSyslogSink(t *testing.T) {
	addr := freeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var frames []string
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go readFrames(c, func(f string) { mu.Lock(); frames = append(frames, f); mu.Unlock() })
		}
	}()
	s := startServer(t, func(yml string) string {
		return yml + fmt.Sprintf("audit:\n  syslog:\n    address: %s\n    queue: 100\n", addr)
	})
	card := cardByName(t, s.setup, "revoked")
	if code, _ := loginPage(t, s.client(t, loadCard(t, card), nil), s.b.CNS); code != http.StatusForbidden {
		t.Fatalf("revoked card: %d, want 403", code)
	}
	var got string
	for deadline := time.Now().Add(10 * time.Second); got == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		for _, f := range frames {
			if strings.Contains(f, `reason="revoked"`) {
				got = f
			}
		}
		mu.Unlock()
	}
	t.Logf("collector got: %s", got)
	masked := card.FiscalCode[:3] + strings.Repeat("*", 12) + card.FiscalCode[15:]
	for _, want := range []string{" cnsgate ", " login [cnsgate@32473 kind=\"login\" outcome=\"failure\" reason=\"revoked\"", `fiscal_code="` + masked + `"`} {
		if !strings.Contains(got, want) {
			t.Fatalf("no syslog frame of the refusal with %q; got %q", want, got)
		}
	}
	if !strings.HasPrefix(got, "<109>1 ") || strings.Contains(got, card.FiscalCode) {
		t.Fatalf("frame: %q (want PRI 109, log audit + notice, and the fiscal code masked)", got)
	}
	if v := metricValue(t, s.b.Admin, "cnsgate_audit_syslog_sent_total"); v < 1 {
		t.Fatalf("cnsgate_audit_syslog_sent_total = %v", v)
	}

	// The collector goes away: logins do not wait for it, their events wait
	// in the queue.
	ln.Close()
	mu.Lock()
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	for i := 0; i < 5; i++ {
		start := time.Now()
		if code, _ := loginPage(t, s.client(t, loadCard(t, card), nil), s.b.CNS); code != http.StatusForbidden {
			t.Fatalf("revoked card with the collector down: %d", code)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("a login with the collector down took %s", took)
		}
	}
	if v := metricValue(t, s.b.Admin, "cnsgate_audit_syslog_queue_depth"); v < 1 {
		t.Fatalf("cnsgate_audit_syslog_queue_depth = %v with the collector down, want the refusals waiting", v)
	}
	if v := metricValue(t, s.b.Admin, "cnsgate_audit_syslog_dropped_total"); v != 0 {
		t.Fatalf("cnsgate_audit_syslog_dropped_total = %v with room in the queue, want 0", v)
	}
}

// readFrames reads RFC 6587 octet-counted frames from c.
func readFrames(c net.Conn, got func(string)) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		n, err := r.ReadString(' ')
		if err != nil {
			return
		}
		size, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil {
			got("BAD FRAME " + n)
			return
		}
		msg := make([]byte, size)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		got(string(msg))
	}
}

// metricValue reads one unlabelled series of the admin listener's /metrics.
func metricValue(t *testing.T, admin, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}
