package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profileTargets, with -cpuprofile DIR, drives each cnsgate once more for
// -duration, outside the measured rounds (the profiler's own cost never
// enters the figures), while fetching its CPU profile from the admin
// listener (CNSGATE_PPROF=1, set for the servers by startTarget) into
// DIR/LABEL.pprof, then its allocations since start (/debug/pprof/allocs)
// into DIR/LABEL.allocs.pprof; `go tool pprof -top BIN FILE` reads them.
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
			continue // the baseline, and -hostile workloads (the profile is of the login)
		}
		file := filepath.Join(o.cpuProfile, l.t.label+".pprof")
		done := make(chan error, 1)
		go func() {
			done <- fetchProfile("http://"+l.t.admin+"/debug/pprof/profile?seconds="+fmt.Sprint(secs), file)
		}()
		r := drive(l, o.conc, time.Duration(secs)*time.Second+time.Second, newWorker)
		if err := <-done; err != nil {
			return fmt.Errorf("%s: CPU profile: %w", l.name, err)
		}
		allocs := filepath.Join(o.cpuProfile, l.t.label+".allocs.pprof")
		if err := fetchProfile("http://"+l.t.admin+"/debug/pprof/allocs", allocs); err != nil {
			return fmt.Errorf("%s: allocation profile: %w", l.name, err)
		}
		fmt.Printf("profile %-20s %s, %s (%d logins while profiling)\n", l.name, file, allocs, r.ops)
	}
	return nil
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
