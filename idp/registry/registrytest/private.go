package registrytest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/internal/freeport"
	"github.com/jackc/pgx/v5"
)

// PrivatePostgres is a PostgreSQL server of one test's own, in a temporary
// directory on a free loopback port, for faults that would hurt every other
// test on a shared server: Freeze stops the postmaster and its backends
// with SIGSTOP (a hung database), Thaw resumes them.
type PrivatePostgres struct {
	t    testing.TB
	DSN  string // postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
	data string
	bin  string
	as   []string // runuser prefix when the test runs as root
}

// StartPrivatePostgres runs initdb and starts the server; the test fails,
// saying why, when PostgreSQL's binaries are not installed. The server is
// stopped and removed when the test ends.
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("registrytest: PostgreSQL is not installed (apt-get install postgresql; scripts/test-setup.sh does it)")
	}
	sort.Strings(bins)
	p := &PrivatePostgres{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "cnsgate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.data = filepath.Join(dir, "data")
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("registrytest: no postgres user to run a private server as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.as = []string{"runuser", "-u", "postgres", "--"}
	}
	t.Cleanup(func() {
		p.Thaw()
		_ = p.run("pg_ctl", "-D", p.data, "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if err := p.run("initdb", "-D", p.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("registrytest: initdb: %v", err)
	}
	port := freePort(t)
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off", port, dir)
	if err := p.run("pg_ctl", "-D", p.data, "-o", opts, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		t.Fatalf("registrytest: start postgres: %v\n%s", err, log)
	}
	p.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN)
	if err != nil {
		t.Fatalf("registrytest: private postgres does not answer: %v", err)
	}
	conn.Close(ctx)
	return p
}

func (p *PrivatePostgres) run(tool string, args ...string) error {
	argv := append(append([]string{}, p.as...), append([]string{filepath.Join(p.bin, tool)}, args...)...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", tool, err, out)
	}
	return nil
}

// Freeze sends SIGSTOP to every process of the server: connections stay
// open and nothing answers, as when the database hangs.
func (p *PrivatePostgres) Freeze() { p.signal(syscall.SIGSTOP) }

// Thaw sends SIGCONT: the server answers again.
func (p *PrivatePostgres) Thaw() { p.signal(syscall.SIGCONT) }

func (p *PrivatePostgres) signal(sig syscall.Signal) {
	pid := p.postmaster()
	if pid == 0 {
		return
	}
	// The postmaster's children (backends, checkpointer...) are found by
	// their parent; a frozen postmaster cannot fork new ones.
	pids := append([]int{pid}, children(pid)...)
	for _, q := range pids {
		_ = syscall.Kill(q, sig)
	}
}

func (p *PrivatePostgres) postmaster() int {
	raw, err := os.ReadFile(filepath.Join(p.data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	var pid int
	fmt.Sscanf(string(raw), "%d", &pid)
	return pid
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; read after ')'.
		i := len(stat) - 1
		for i > 0 && stat[i] != ')' {
			i--
		}
		var state string
		var ppid int
		if _, err := fmt.Sscanf(string(stat[i+1:]), " %s %d", &state, &ppid); err == nil && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
