package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/internal/benchproc"
)

// target is one cnsgate binary under measure, with its own listeners and
// its own registry database.
type target struct {
	label, bin  string
	public, cns string // listener addresses
	admin       string
	issuer      string
	config, log string
	pgDB        string // the database created for it, postgres only
	pgDSN       string
	redisDB     int // its own Redis database, with -sessions redis
	pid         int // the running server's
}

// child is a running server process.
type child struct {
	cmd *exec.Cmd
	pid int
}

func otherCPUs(serverCPU int) string {
	var out []string
	for i := range runtime.NumCPU() {
		if i != serverCPU {
			out = append(out, strconv.Itoa(i))
		}
	}
	return strings.Join(out, ",")
}

// startPinned starts name args on the servers' CPU.
func startPinned(cpu int, logFile string, env []string, name string, args ...string) (*child, error) {
	if cpu >= 0 {
		if taskset, err := exec.LookPath("taskset"); err == nil {
			args = append([]string{"-c", strconv.Itoa(cpu), name}, args...)
			name = taskset
		}
	}
	logf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { _ = cmd.Wait(); logf.Close() }()
	// taskset execs the command: the pid is the server's.
	return &child{cmd: cmd, pid: cmd.Process.Pid}, nil
}

func (c *child) stop() {
	if c != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Kill()
	}
}

func freeAddr() string {
	a, err := benchproc.FreeAddr()
	if err != nil {
		panic(err)
	}
	return a
}

// prepareTarget writes t's configuration from the demo's: its listeners,
// the CRLs of the tool's CA server, its registry and session store.
func prepareTarget(o options, t *target, setup *demo.Setup, base demo.Ports, baseYAML, caAddr string) error {
	t.public, t.cns, t.admin = freeAddr(), freeAddr(), freeAddr()
	t.issuer = "https://" + t.public
	yml := strings.NewReplacer(base.Public, t.public, base.CNS, t.cns, "http://"+base.Admin+"/demo/", "http://"+caAddr+"/demo/",
		base.Admin, t.admin).Replace(baseYAML)
	db := filepath.Join(setup.Dir, "cnsgate.db")
	switch o.registry {
	case "sqlite":
		own := filepath.Join(setup.Dir, "registry-"+t.label+".db")
		if err := copyFile(db, own); err != nil {
			return err
		}
		yml = strings.Replace(yml, "dsn: "+db+"\n", "dsn: "+own+"\n", 1)
	case "postgres":
		if err := t.createPostgres(o.pgDSN, db); err != nil {
			return err
		}
		yml = strings.Replace(yml, "registry:\n  driver: sqlite\n  dsn: "+db+"\n",
			fmt.Sprintf("registry:\n  driver: postgres\n  dsn: %q\n", t.pgDSN), 1)
	}
	if o.sessions == "redis" {
		yml = strings.Replace(yml, "sessions:\n  store: memory\n", fmt.Sprintf("sessions:\n  store: redis\n  redis:\n    addrs: [%q]\n    db: %d\n", o.redisAddr, t.redisDB), 1)
	}
	if o.idTokenAlg != "" {
		client := "    - id: " + demo.EsenzioniClientID + "\n"
		yml = strings.Replace(yml, client, client+"      id_token_signed_response_alg: "+o.idTokenAlg+"\n", 1)
	}
	yml = strings.Replace(yml, "log:\n  format: text\n", "log:\n  format: text\n  level: warn\n", 1)
	yml += "limits:\n  pending_per_ip_rate: 100000000\n  pending_per_ip_burst: 100000000\n"
	// The benchmark measures the login itself: each minted card logs in once
	// per relying party, so the data-release page (on by default) would be
	// in every measured login.
	yml += "login:\n  confirm_release: false\n"
	t.config, t.log = filepath.Join(setup.Dir, "config-"+t.label+".yaml"), filepath.Join(setup.Dir, "serve-"+t.label+".log")
	return os.WriteFile(t.config, []byte(yml), 0o600)
}

// createPostgres creates t's database and copies the demo's registrations
// into it.
func (t *target) createPostgres(baseDSN, demoDB string) error {
	t.pgDB = "cnsgate_bench_" + strings.ToLower(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.label)) + "_" + randHex(4)
	admin, err := sql.Open("pgx", baseDSN)
	if err != nil {
		return err
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + t.pgDB); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(baseDSN)
	if err != nil {
		return fmt.Errorf("-postgres must be a postgres:// URL: %w", err)
	}
	u.Path = "/" + t.pgDB
	t.pgDSN = u.String()
	return copyRegistrations(demoDB, t.pgDSN)
}

// copyRegistrations registers the cards of the demo's SQLite registry in
// the PostgreSQL one.
func copyRegistrations(demoDB, pgDSN string) error {
	ctx := context.Background()
	src, err := sqlstore.Open(ctx, sqlstore.DriverSQLite, demoDB)
	if err != nil {
		return err
	}
	defer src.Close()
	regs, err := src.List(ctx, registry.ListFilter{})
	if err != nil {
		return err
	}
	dst, err := sqlstore.Open(ctx, sqlstore.DriverPostgres, pgDSN)
	if err != nil {
		return err
	}
	defer dst.Close()
	for _, r := range regs {
		if _, _, err := dst.Register(ctx, r); err != nil && !errors.Is(err, registry.ErrRevoked) && !errors.Is(err, registry.ErrReplaced) {
			return err
		}
	}
	return nil
}

func (t *target) dropPostgres(baseDSN string) {
	if t.pgDB == "" {
		return
	}
	if admin, err := sql.Open("pgx", baseDSN); err == nil {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + t.pgDB + " WITH (FORCE)")
		admin.Close()
	}
}

// pgTransactions reads the transactions committed or rolled back in t's
// database, from the server's statistics (read from another database, so
// that reading does not count).
func (t *target) pgTransactions(baseDSN string) (int64, error) {
	admin, err := sql.Open("pgx", baseDSN)
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	var n int64
	err = admin.QueryRow("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", t.pgDB).Scan(&n)
	return n, err
}

func copyFile(from, to string) error {
	raw, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, raw, 0o600)
}

// waitServing waits until /readyz answers 200 and the demo CA's CRL is
// loaded (/metrics shows its entries).
func waitServing(admin string, c *child, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c.cmd.ProcessState != nil {
			return errors.New("exited")
		}
		if code, _ := httpGet("http://" + admin + "/readyz"); code == http.StatusOK {
			if _, body := httpGet("http://" + admin + "/metrics"); strings.Contains(body, `cnsgate_crl_entries{issuer="Regione Demo - CA Cittadini"}`) {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready with its CRL within %s", within)
}

// waitListening waits until addr accepts connections.
func waitListening(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not listening within %s", addr, within)
}

func httpGet(u string) (int, string) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func tail(file string) string {
	b, _ := os.ReadFile(file)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
