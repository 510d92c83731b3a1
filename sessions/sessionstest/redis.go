package sessionstest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/internal/freeport"
)

// RedisStartHint is how a developer starts the Redis the tests expect.
const RedisStartHint = `redis-server --daemonize yes --port 6379 --save ""`

// RedisAddr returns the address of the shared test Redis, from
// CNSGATE_TEST_REDIS_ADDR (default 127.0.0.1:6379), after checking that it
// answers PING. When it does not, the test fails with a message saying how
// to start Redis: a test of a real server never passes by skipping.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("CNSGATE_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if err := PingRedis(addr, 2*time.Second); err != nil {
		t.Fatalf("no Redis at %s (%v): run the tests with `make test`, which starts one, or start one with `%s` or set CNSGATE_TEST_REDIS_ADDR", addr, err, RedisStartHint)
	}
	return addr
}

// Unavailable stops a test whose command-line peer (node, an npm package) is
// missing: it fails when the CI variable is set and skips, saying why,
// otherwise. A missing server is always a failure (RedisAddr).
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// PingRedis sends one inline PING to addr and expects +PONG.
func PingRedis(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// RedisServer is a redis-server process of the test's own, on a spare
// loopback port, that the test may stop and start again on the same port.
// It keeps nothing across restarts (--save "", no AOF).
type RedisServer struct {
	Addr string // 127.0.0.1:port

	t     testing.TB
	bin   string
	dir   string
	port  int
	conf  string   // config file given first, or ""
	extra []string // arguments after the common ones

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartRedisServer starts a redis-server found in PATH and stops it when the
// test ends. Without redis-server the test fails.
func StartRedisServer(t testing.TB) *RedisServer {
	t.Helper()
	return startRedis(t, redisBinary(t, "redis-server"), "", nil)
}

// redisBinary finds name (redis-server, redis-cli) in PATH or fails the test
// saying how to install it.
func redisBinary(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not in PATH (%v): install it, e.g. apt-get install redis-server, which provides redis-server, redis-cli and Sentinel (redis-server --sentinel); scripts/test-setup.sh does", name, err)
	}
	return bin
}

// freePort returns a loopback port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Port()
	if err != nil {
		t.Fatalf("finding a spare port: %v", err)
	}
	return p
}

// startRedis starts bin on a spare port in a directory of its own, with the
// config file conf (when not empty) and the extra arguments, and stops it
// when the test ends.
func startRedis(t testing.TB, bin, conf string, extra func(port int) []string) *RedisServer {
	t.Helper()
	port := freePort(t)
	s := &RedisServer{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		t:    t, bin: bin, dir: t.TempDir(), port: port, conf: conf,
	}
	if extra != nil {
		s.extra = extra(port)
	}
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// Start runs the server (again) on its port and waits until it answers.
func (s *RedisServer) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatalf("redis-server on %s is already running", s.Addr)
	}
	logFile := filepath.Join(s.dir, "redis.log")
	var args []string
	if s.conf != "" {
		args = append(args, s.conf)
	}
	args = append(args, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--dir", s.dir, "--logfile", logFile)
	cmd := exec.Command(s.bin, append(args, s.extra...)...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := PingRedis(s.Addr, 200*time.Millisecond)
		if err == nil {
			return
		}
		select {
		case <-exited:
			s.cmd = nil
			log, _ := os.ReadFile(logFile)
			s.t.Fatalf("redis-server on %s exited at start:\n%s", s.Addr, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s does not answer: %v", s.Addr, err)
		}
	}
}

// Stop kills the server (SIGKILL, as a crash would) and waits for it to
// exit. Stopping a stopped server does nothing.
func (s *RedisServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill() // a frozen process dies of SIGKILL too
	<-s.exited
	s.cmd = nil
}

// Running reports whether the server process is running.
func (s *RedisServer) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Eventually polls cond every 20 ms until it holds, failing the test with
// msg() when timeout passes first.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, msg())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Freeze stops the server with SIGSTOP: connections stay open and nothing
// answers, as in a hang. Thaw (or Stop, at the end of the test) resumes it.
func (s *RedisServer) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server with SIGCONT.
func (s *RedisServer) Thaw() { s.signal(syscall.SIGCONT) }

func (s *RedisServer) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("redis-server on %s is not running", s.Addr)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redis-server on %s: %v: %v", s.Addr, sig, err)
	}
}
