package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/internal/benchproc"
)

func main() {
	bin := flag.String("cnsgate", "", "path of the cnsgate binary (required)")
	n := flag.Int("n", 100000, "number of /authorize requests")
	workers := flag.Int("c", 8, "concurrent connections of the one client")
	var env multiFlag
	flag.Var(&env, "env", "NAME=VALUE for the child's environment (repeatable)")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "cnsgate-bench-pending: -cnsgate is required")
		os.Exit(2)
	}
	if err := run(*bin, *n, *workers, env); err != nil {
		fmt.Fprintln(os.Stderr, "cnsgate-bench-pending:", err)
		os.Exit(1)
	}
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func run(bin string, n, workers int, env []string) error {
	dir, err := os.MkdirTemp("", "cnsgate-bench-pending-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ports := demo.Ports{Public: freeAddr(), CNS: freeAddr(), Admin: freeAddr(), Esenzioni: freeAddr(), CMS: freeAddr()}
	setup, err := demo.Prepare(dir, ports, time.Now())
	if err != nil {
		return err
	}
	cfg, err := config.Load(setup.ConfigFile)
	if err != nil {
		return err
	}
	child, err := startDemo(bin, dir, ports, env)
	if err != nil {
		return err
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	client, err := httpsClient(setup.TLSCAFile, workers)
	if err != nil {
		return err
	}
	authURL := authorizeURL(cfg)
	if _, err := get(client, authURL); err != nil { // warm up: TLS, templates
		return err
	}
	idle, _, err := memory(child.Process.Pid)
	if err != nil {
		return err
	}
	start := time.Now()
	counts, err := flood(client, authURL, n, workers)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	after, peak, err := memory(child.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("requests %d in %s (%.0f/s) from one client, %d connections\n", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), workers)
	fmt.Printf("answers  %v\n", counts)
	fmt.Printf("VmRSS    idle %.1f MiB, after %.1f MiB, growth %.1f MiB (VmHWM %.1f MiB)\n",
		mib(idle), mib(after), mib(after-idle), mib(peak))
	return nil
}

// startDemo runs `cnsgate demo` on the prepared directory and waits for
// its banner.
func startDemo(bin, dir string, p demo.Ports, env []string) (*exec.Cmd, error) {
	cmd := exec.Command(bin, "demo", "--dir", dir, "--public", p.Public, "--cns", p.CNS, "--admin", p.Admin,
		"--esenzioni", p.Esenzioni, "--cms", p.CMS)
	cmd.Env = append(os.Environ(), append([]string{"CNSGATE_LOG_LEVEL=error"}, env...)...)
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Press Ctrl-C to stop.") {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return cmd, nil
		}
	case <-time.After(60 * time.Second):
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, errors.New("cnsgate demo did not start (no banner within 60s)")
}

func authorizeURL(cfg *config.Config) string {
	c := cfg.OIDC.Clients[0]
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {c.RedirectURIs[0]},
		"scope": {"openid profile"}, "state": {strings.Repeat("s", 64)}, "nonce": {strings.Repeat("n", 64)},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
	}
	return cfg.Issuer + "/authorize?" + q.Encode()
}

// flood sends n requests over workers connections and counts the answers
// by status.
func flood(c *http.Client, u string, n, workers int) (map[int]int, error) {
	var next atomic.Int64
	var mu sync.Mutex
	counts := map[int]int{}
	var firstErr error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				code, err := get(c, u)
				mu.Lock()
				counts[code]++
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return counts, firstErr
}

func get(c *http.Client, u string) (int, error) {
	resp, err := c.Get(u)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func httpsClient(caFile string, conns int) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// The measuring helpers the bench tools share.
var (
	memory = benchproc.Memory
	mib    = benchproc.MiB
)

func freeAddr() string {
	a, err := benchproc.FreeAddr()
	if err != nil {
		panic(err)
	}
	return a
}
