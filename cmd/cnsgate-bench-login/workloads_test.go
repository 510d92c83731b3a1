package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestMain lets the test binary be the baseline server the runs start:
// they start os.Executable() as `serve-baseline`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "serve-baseline" {
		serveBaselineMain()
		return
	}
	os.Exit(m.Run())
}

// buildCnsgate builds the cnsgate of this tree (CNSGATE_TEST_BIN names one
// already built).
func buildCnsgate(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CNSGATE_TEST_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "cnsgate")
	out, err := exec.Command("go", "build", "-o", bin, "../cnsgate").CombinedOutput()
	if err != nil {
		t.Fatalf("go build cnsgate: %v\n%s", err, out)
	}
	return bin
}

// TestWorkloads runs every workload for a second on a cnsgate built from
// this tree and on the bare baseline, as `-workload
// login,token,userinfo,introspect -duration 1s` does: each must have
// succeeded at every operation it tried, with the server's and the load
// generator's CPU measured. With Redis and PostgreSQL, the workloads
// that read the grants and sessions those stores keep.
func TestWorkloads(t *testing.T) {
	bin := buildCnsgate(t)
	for _, tc := range []struct {
		name, registry, sessions string
		kinds                    []string
	}{
		{"ok/memory-sqlite", "sqlite", "memory", kinds},
		{"ok/redis-postgres", "postgres", "redis", []string{kindToken, kindUserinfo, kindIntrospect}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options{targets: []target{{label: "test", bin: bin}}, conc: 2, cards: 4, duration: time.Second,
				warmup: 300 * time.Millisecond, rounds: 1, registry: tc.registry, sessions: tc.sessions, serverCPU: -1,
				baselineAlg: "es256", idTokenAlg: "ES256", kinds: tc.kinds, dir: t.TempDir(),
				pgDSN:     envOr("CNSGATE_TEST_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
				redisAddr: envOr("CNSGATE_TEST_REDIS_ADDR", "127.0.0.1:6379")}
			loads, err := run(o)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, l := range loads {
				r := l.total
				if r.ops == 0 || r.failed > 0 {
					t.Errorf("%s: %d ok, %d failed: %v", l.name, r.ops, r.failed, r.errs)
				}
				if r.cpu <= 0 || r.gen <= 0 {
					t.Errorf("%s: server CPU %s, generator CPU %s: not measured", l.name, r.cpu, r.gen)
				}
				if l.base != nil && l.base.kind != l.kind {
					t.Errorf("%s (%s) is compared with the %s baseline", l.name, l.kind, l.base.kind)
				}
				seen[l.kind]++
			}
			for _, k := range tc.kinds {
				if seen[k] != 2 {
					t.Errorf("workload %s: %d loads, want cnsgate's and the baseline's", k, seen[k])
				}
			}
		})
	}
}

func TestParseKinds(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int // kinds, -1 for an error
	}{
		{"ok/default", "login", 1},
		{"ok/all", "login, token,userinfo,introspect", 4},
		{"fail/unknown", "login,tokens", -1},
		{"fail/twice", "token,token", -1},
		{"fail/empty", "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseKinds(tc.in)
			switch {
			case tc.want < 0 && err == nil:
				t.Errorf("%q accepted as %v", tc.in, got)
			case tc.want >= 0 && (err != nil || len(got) != tc.want):
				t.Errorf("%q: %v, %v", tc.in, got, err)
			}
		})
	}
}
