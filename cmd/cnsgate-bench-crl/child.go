package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/internal/benchproc"
)

// runChild runs `cnsgate serve`, waits until the CRL server is done with
// it and /readyz answers 200, then reads its memory.
func runChild(bin, cfgFile, admin string, done <-chan struct{}, sent *atomic.Int64) (result, error) {
	cmd := exec.Command(bin, "serve", "--config", cfgFile)
	cmd.Env = append(os.Environ(), "CNSGATE_LOG_LEVEL=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		return result{}, errors.New("the child did not fetch the CRL within 120s")
	}
	if err := waitReady(admin, 60*time.Second); err != nil {
		return result{}, fmt.Errorf("%w\n%s", err, logs.String())
	}
	// /readyz turns 200 before the revocation checker has loaded its
	// CRLs: wait for the outcome of the demo CA's.
	outcome, deadline := crlOutcome(admin), time.Now().Add(120*time.Second)
	for !strings.Contains(outcome, "crl_entries=") && !strings.Contains(outcome, "failures_total=1") {
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("no CRL outcome within 120s: %s\n%s", outcome, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
		outcome = crlOutcome(admin)
	}
	rss, hwm, err := memory(cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	// A large CRL's input is given back to the OS just after it is
	// installed (the metric appears first): read again once settled.
	time.Sleep(2 * time.Second)
	v, err := procStatus(cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	return result{sent: sent.Load(), hwm: hwm, rss: rss, settled: v["VmRSS"], anon: v["RssAnon"], outcome: outcome}, nil
}

func waitReady(admin string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("/readyz not 200 within %s", within)
}

// crlOutcome reads, from /metrics, the demo CA's CRL entries and refresh
// failures.
func crlOutcome(admin string) string {
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.Contains(line, "Regione Demo") && (strings.HasPrefix(line, "cnsgate_crl_entries") || strings.HasPrefix(line, "cnsgate_crl_refresh_failures_total")) {
			name, _, _ := strings.Cut(line, "{")
			_, val, _ := strings.Cut(line, "} ")
			out = append(out, strings.TrimPrefix(name, "cnsgate_")+"="+val)
		}
	}
	return strings.Join(out, " ")
}

// The measuring helpers the bench tools share.
var (
	memory     = benchproc.Memory
	mib        = benchproc.MiB
	procStatus = benchproc.Status
)

func freeAddr() string {
	a, err := benchproc.FreeAddr()
	if err != nil {
		panic(err)
	}
	return a
}
