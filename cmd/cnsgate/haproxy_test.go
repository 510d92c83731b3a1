package main

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// haproxy is a real HAProxy started by a test, with its admin stats socket.
type haproxy struct {
	sock string
	log  string
	cmd  *exec.Cmd
	exit chan struct{}
}

// replicaAddrs are one cnsgate replica's listeners, as HAProxy reaches them.
type replicaAddrs struct{ public, cns, admin string }

// haproxyFront is what the shipped example is rewritten to on loopback.
type haproxyFront struct {
	public, cns      string // HAProxy's binds
	publicSource     string // address HAProxy connects to the public listeners from
	cnsSource        string // address HAProxy connects to the card listeners from
	certPEM, caFile  string // the public certificate+key, the backends' CA
	verifyHost, sock string
}

var serverLineRE = regexp.MustCompile(`(?m)^(\s*server (cnsgate-\d+)) \S+:(8443|8444) check port \d+$`)

// exampleHAProxyConfig reads deploy/haproxy/haproxy.cfg and rewrites only
// its addresses and file paths, so that the test runs the shipped example.
func exampleHAProxyConfig(t *testing.T, f haproxyFront, replicas []replicaAddrs) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "haproxy", "haproxy.cfg"))
	if err != nil {
		t.Fatalf("the shipped HAProxy example: %v", err)
	}
	cfg := string(raw)
	for _, r := range []struct{ old, new string }{
		{"bind :8444\n", "bind " + f.cns + "\n"},
		{"bind :8443 ssl crt /etc/haproxy/certs/login.example.it.pem", "bind " + f.public + " ssl crt " + f.certPEM},
		{"ca-file /etc/haproxy/certs/cnsgate-backend-ca.crt", "ca-file " + f.caFile},
		{"verifyhost login.example.it", "verifyhost " + f.verifyHost},
		{"stats socket /run/haproxy/cnsgate.sock", "stats socket " + f.sock},
		{"source 10.0.1.1\n", "source " + f.publicSource + "\n"},
		{"source 10.0.2.1\n", "source " + f.cnsSource + "\n"},
	} {
		if !strings.Contains(cfg, r.old) {
			t.Fatalf("deploy/haproxy/haproxy.cfg has no %q any more: edit this test with it", r.old)
		}
		cfg = strings.Replace(cfg, r.old, r.new, 1)
	}
	n := 0
	cfg = serverLineRE.ReplaceAllStringFunc(cfg, func(line string) string {
		m := serverLineRE.FindStringSubmatch(line)
		var i int
		fmt.Sscanf(m[2], "cnsgate-%d", &i)
		if i < 1 || i > len(replicas) {
			t.Fatalf("deploy/haproxy/haproxy.cfg: server %s beyond the %d replicas of the test", m[2], len(replicas))
		}
		r := replicas[i-1]
		addr := map[string]string{"8443": r.public, "8444": r.cns}[m[3]]
		_, adminPort, _ := net.SplitHostPort(r.admin)
		n++
		return fmt.Sprintf("%s %s check addr %s port %s", m[1], addr, hostOf(r.admin), adminPort)
	})
	if n != 2*len(replicas) {
		t.Fatalf("deploy/haproxy/haproxy.cfg: %d server lines rewritten, want %d", n, 2*len(replicas))
	}
	for _, forbidden := range []string{"redispatch", "retry-on"} {
		if regexp.MustCompile(`(?m)^[^#\n]*` + forbidden).MatchString(cfg) {
			t.Fatalf("the HAProxy example uses %q: it would hide the failures this test counts", forbidden)
		}
	}
	return cfg
}

func hostOf(hostport string) string {
	h, _, _ := net.SplitHostPort(hostport)
	return h
}

// startHAProxy runs haproxy in the foreground on cfg; without haproxy the
// test fails, saying how to get it.
func startHAProxy(t *testing.T, dir, cfg, sock string) *haproxy {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy is not in PATH (%v): install it, e.g. apt-get install haproxy (scripts/test-setup.sh does)", err)
	}
	file := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", file).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c rejects the configuration: %v\n%s\n%s", err, out, cfg)
	}
	h := &haproxy{sock: sock, log: filepath.Join(dir, "haproxy.log"), exit: make(chan struct{})}
	logf, err := os.Create(h.log)
	if err != nil {
		t.Fatal(err)
	}
	h.cmd = exec.Command(bin, "-db", "-f", file)
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("starting haproxy: %v", err)
	}
	go func() { h.cmd.Wait(); logf.Close(); close(h.exit) }()
	t.Cleanup(func() {
		h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.exit:
		case <-time.After(5 * time.Second):
			h.cmd.Process.Kill()
			<-h.exit
		}
	})
	waitFor(t, "haproxy's stats socket", 10*time.Second, func() bool {
		select {
		case <-h.exit:
			t.Fatalf("haproxy exited at start:\n%s", h.logTail())
		default:
		}
		_, err := h.command("show info")
		return err == nil
	})
	return h
}

func (h *haproxy) logTail() string {
	b, _ := os.ReadFile(h.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// command sends one command to the stats socket and returns the answer.
func (h *haproxy) command(cmd string) (string, error) {
	c, err := net.DialTimeout("unix", h.sock, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(bufio.NewReader(c))
	return string(b), err
}

// stats returns `show stat` as one map per proxy/server row, keyed by the
// CSV header's names.
func (h *haproxy) stats(t *testing.T) map[string]map[string]string {
	t.Helper()
	out, err := h.command("show stat")
	if err != nil {
		t.Fatalf("haproxy show stat: %v", err)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# "))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("haproxy show stat: %v\n%s", err, out)
	}
	m := map[string]map[string]string{}
	for _, row := range rows[1:] {
		r := map[string]string{}
		for i, name := range rows[0] {
			if i < len(row) {
				r[name] = row[i]
			}
		}
		m[r["pxname"]+"/"+r["svname"]] = r
	}
	return m
}

// status is HAProxy's view of one server of a backend: UP, DOWN, ...
func (h *haproxy) status(t *testing.T, backend, server string) string {
	t.Helper()
	return h.stats(t)[backend+"/"+server]["status"]
}
