package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/internal/benchproc"
)

// runChild runs `cnsgate serve`, waits until the CRL server is done with
// it and /readyz answers 200, then reads its memory, and more (measureLater)
// as after says.
func runChild(bin, cfgFile, admin string, done <-chan struct{}, sent *atomic.Int64, after int) (result, error) {
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
	res := result{sent: sent.Load(), hwm: hwm, rss: rss, settled: v["VmRSS"], anon: v["RssAnon"], outcome: outcome}
	if err := measureLater(cmd.Process.Pid, admin, after, &logs, &res); err != nil {
		return result{}, err
	}
	return res, nil
}

// measureLater completes res: with after > 0, once the refreshed CRL of
// that many entries is installed; then, with -churn, under requests (the
// baseline, after == 0, under the same requests). A hostile scenario
// (after < 0) has nothing more to measure.
func measureLater(pid int, admin string, after int, logs *strings.Builder, res *result) error {
	if after < 0 {
		return nil
	}
	if after > 0 {
		deadline := time.Now().Add(180 * time.Second)
		for crlEntries(crlOutcome(admin)) != float64(after) {
			if time.Now().After(deadline) {
				return fmt.Errorf("the refreshed CRL of %d entries was not installed within 180s: %s\n%s", after, crlOutcome(admin), logs.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(2 * time.Second) // as for the first reading: once settled
		v, err := procStatus(pid)
		if err != nil {
			return err
		}
		res.refreshedRSS, res.refreshedAnon = v["VmRSS"], v["RssAnon"]
	}
	if churnFor > 0 {
		churn(admin, churnFor)
		v, err := procStatus(pid)
		if err != nil {
			return err
		}
		res.loadedRSS, res.loadedAnon = v["VmRSS"], v["RssAnon"]
	}
	return nil
}

// churn makes the server allocate, as requests do, for d: four clients
// fetching /metrics over and over, so that the heap grows to the
// collector's goal before the memory is read.
func churn(admin string, d time.Duration) {
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				resp, err := http.Get("http://" + admin + "/metrics")
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
}

// crlEntries reads the entry count out of crlOutcome's answer; -1 when
// there is none.
func crlEntries(outcome string) float64 {
	for f := range strings.FieldsSeq(outcome) {
		if v, ok := strings.CutPrefix(f, "crl_entries="); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
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
