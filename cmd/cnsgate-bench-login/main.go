package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"time"
)

// options are the command line.
type options struct {
	targets             []target // the cnsgate binaries, in the order given
	conc, cards         int
	duration, warmup    time.Duration
	rounds              int
	registry, pgDSN     string
	sessions, redisAddr string
	serverCPU           int
	dir                 string
	hostile             bool
	baselineAlg         string   // es256 or rs256: the baseline's one signature per request
	cpuProfile          string   // directory for each cnsgate's CPU profile, "" for none
	idTokenAlg          string   // the relying party's id_token_signed_response_alg; "" keeps the demo's (RS256)
	kinds               []string // -workload: what each server is driven with (workloads.go)
	genProfile          string   // file for the load generator's own CPU profile, "" for none
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve-baseline" {
		serveBaselineMain()
		return
	}
	var o options
	bins := flag.String("cnsgate", "", "cnsgate binaries to measure: PATH, or LABEL=PATH,LABEL=PATH (e.g. before=/tmp/a,after=/tmp/b) (required)")
	flag.IntVar(&o.conc, "c", 32, "concurrent clients")
	flag.IntVar(&o.cards, "cards", 64, "citizen cards minted and registered (each with its own RSA-2048 key); clients take them in turn")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured round of each workload")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured load on each server before the rounds")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds: each runs every workload once, interleaved (A, B, A, B)")
	flag.StringVar(&o.registry, "registry", "sqlite", "cnsgate's registry: sqlite or postgres")
	flag.StringVar(&o.pgDSN, "postgres", envOr("CNSGATE_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL server (the tool creates and drops a database of its own per binary)")
	flag.StringVar(&o.sessions, "sessions", "memory", "cnsgate's session store: memory or redis")
	flag.StringVar(&o.redisAddr, "redis", envOr("CNSGATE_TEST_REDIS_ADDR", "127.0.0.1:6379"), "Redis address for -sessions redis")
	flag.IntVar(&o.serverCPU, "server-cpu", 0, "CPU the servers are pinned to with taskset, and the load generator kept off (-1: no pinning)")
	flag.BoolVar(&o.hostile, "hostile", false, "also measure, on each cnsgate, refusing hostile chains on new connections to /cns/login (14 self-issued intermediates; 4, within trust.max_intermediates)")
	flag.StringVar(&o.baselineAlg, "baseline-alg", "es256", "the baseline's signature per request: es256 (the demo's P-256 key) or rs256 (the demo's RSA 3072 key, what the demo's ID tokens use)")
	flag.StringVar(&o.idTokenAlg, "id-token-alg", "", "the relying party's id_token_signed_response_alg: RS256 (the demo's default) or ES256; pair it with the same -baseline-alg")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "directory: after the rounds, drive each cnsgate once more (unmeasured) with CNSGATE_PPROF=1 and save its CPU profile there as LABEL.pprof")
	workload := flag.String("workload", kindLogin, "comma-separated workloads, each against its own bare baseline: login (the full card login), "+
		"token (POST /token on kept-alive connections, codes prepared unmeasured), userinfo, introspect (an access token's, kept-alive)")
	flag.StringVar(&o.genProfile, "generator-cpuprofile", "", "file: the load generator's own CPU profile over the whole run (warm-up and preparations included)")
	flag.StringVar(&o.dir, "dir", "", "working directory (default: a temporary one, removed at the end)")
	flag.Parse()
	var err error
	if o.targets, err = parseTargets(*bins); err != nil {
		fmt.Fprintln(os.Stderr, "cnsgate-bench-login:", err)
		os.Exit(2)
	}
	if o.kinds, err = parseKinds(*workload); err != nil {
		fmt.Fprintln(os.Stderr, "cnsgate-bench-login:", err)
		os.Exit(2)
	}
	if contains(o.kinds, kindToken) && o.duration > maxTokenDuration {
		fmt.Fprintf(os.Stderr, "cnsgate-bench-login: -workload token takes a -duration of at most %s (codes live 60 s)\n", maxTokenDuration)
		os.Exit(2)
	}
	if !o.valid() {
		fmt.Fprintln(os.Stderr, "cnsgate-bench-login: -registry is sqlite or postgres, -sessions memory or redis, -baseline-alg es256 or rs256, -id-token-alg RS256 or ES256")
		os.Exit(2)
	}
	if code, reexec := pinSelf(o.serverCPU); reexec {
		os.Exit(code)
	}
	// The load generator keeps little live memory: a rarer collection
	// leaves more of its CPU to the logins it drives.
	debug.SetGCPercent(400)
	if err := runProfiled(o); err != nil {
		fmt.Fprintln(os.Stderr, "cnsgate-bench-login:", err)
		os.Exit(1)
	}
}

// runProfiled is run, within the load generator's own CPU profile with
// -generator-cpuprofile.
func runProfiled(o options) error {
	if o.genProfile != "" {
		stop, err := profileSelf(o.genProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	_, err := run(o)
	return err
}

// serveBaselineMain is the baseline server, run by the tool itself as a
// child: cnsgate-bench-login serve-baseline ARGS.
func serveBaselineMain() {
	if len(os.Args) != 10 {
		fmt.Fprintln(os.Stderr, "usage: cnsgate-bench-login serve-baseline ADDR CERT KEY TRUST_DIR SIGNING_KEY PUBLIC_ADDR CLIENT_ID SECRET_FILE (key ECDSA P-256: ES256, RSA: RS256)")
		os.Exit(2)
	}
	a := os.Args[2:]
	if err := serveBaseline(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

// valid reports whether the choices among fixed values are known ones.
func (o options) valid() bool {
	return (o.registry == "sqlite" || o.registry == "postgres") && (o.sessions == "memory" || o.sessions == "redis") &&
		(o.baselineAlg == "es256" || o.baselineAlg == "rs256") && (o.idTokenAlg == "" || o.idTokenAlg == "RS256" || o.idTokenAlg == "ES256")
}

func parseTargets(s string) ([]target, error) {
	if s == "" {
		return nil, fmt.Errorf("-cnsgate is required")
	}
	var out []target
	for _, part := range strings.Split(s, ",") {
		label, path, ok := strings.Cut(part, "=")
		if !ok {
			label, path = "cnsgate", part
		}
		out = append(out, target{label: label, bin: path})
	}
	return out, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// pinSelf runs the tool again under taskset on the CPUs other than the
// servers' one, so that the load generator never takes the servers' core;
// reexec is false when that is done already, or impossible.
func pinSelf(serverCPU int) (code int, reexec bool) {
	if serverCPU < 0 || os.Getenv("CNSGATE_BENCH_PINNED") != "" {
		return 0, false
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cnsgate-bench-login: no taskset (util-linux): the servers and the load share every CPU")
		return 0, false
	}
	others := otherCPUs(serverCPU)
	if others == "" {
		return 0, false
	}
	self, err := os.Executable()
	if err != nil {
		return 0, false
	}
	cmd := exec.Command(taskset, append([]string{"-c", others, self}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), "CNSGATE_BENCH_PINNED="+others)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), true
		}
		fmt.Fprintln(os.Stderr, "cnsgate-bench-login:", err)
		return 1, true
	}
	return 0, true
}
