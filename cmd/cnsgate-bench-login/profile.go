package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"
)

// profileTargets, with -cpuprofile DIR, drives each cnsgate once more for
// -duration, outside the measured rounds (the profiler's own cost never
// enters the figures), while fetching its CPU profile from the admin
// listener (CNSGATE_PPROF=1, set for the servers by startTarget) into
// DIR/LABEL.pprof (DIR/LABEL-KIND.pprof for the workloads other than the
// login), then its allocations since start (/debug/pprof/allocs) into
// DIR/LABEL[-KIND].allocs.pprof; `go tool pprof -top BIN FILE` reads them.
func profileTargets(o options, loads []*workload, newWorker func() *worker) error {
	if o.cpuProfile == "" {
		return nil
	}
	if err := os.MkdirAll(o.cpuProfile, 0o755); err != nil {
		return err
	}
	secs := int(o.duration / time.Second)
	if secs < 1 {
		secs = 1
	}
	for _, l := range loads {
		if l.t == nil || l.of != nil {
			continue // the baselines, and -hostile workloads (the profile is of the login)
		}
		name := l.t.label
		if l.kind != kindLogin {
			name += "-" + l.kind
		}
		file := filepath.Join(o.cpuProfile, name+".pprof")
		done := make(chan error, 1)
		// The profile starts with the clock, after the workload's preparation.
		m := &meter{started: func() {
			go func() {
				done <- fetchProfile("http://"+l.t.admin+"/debug/pprof/profile?seconds="+fmt.Sprint(secs), file)
			}()
		}}
		r, err := drive(l, o.conc, time.Duration(secs)*time.Second+time.Second, newWorker, m)
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		if err := <-done; err != nil {
			return fmt.Errorf("%s: CPU profile: %w", l.name, err)
		}
		allocs := filepath.Join(o.cpuProfile, name+".allocs.pprof")
		if err := fetchProfile("http://"+l.t.admin+"/debug/pprof/allocs", allocs); err != nil {
			return fmt.Errorf("%s: allocation profile: %w", l.name, err)
		}
		fmt.Printf("profile %-20s %s, %s (%d operations while profiling)\n", l.name, file, allocs, r.ops)
	}
	return nil
}

// profileSelf starts the load generator's own CPU profile into file;
// stop ends it.
func profileSelf(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func fetchProfile(url, file string) error {
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d (is CNSGATE_PPROF=1 honoured by this binary?)", url, resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
