package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

func main() {
	bin := flag.String("cnsgate", "", "path of the cnsgate binary (required)")
	size := flag.Int64("size", 200<<20, "bytes offered by the hostile CRL servers")
	entries := flag.Int("entries", 1_000_000, "entries of the genuine large CRL (0: skip that scenario)")
	hostile := flag.Bool("hostile", true, "run the hostile scenarios (false: the baseline and the genuine CRL only)")
	flag.BoolVar(&refreshCRL, "refresh", true, "genuine CRL: announce a nextUpdate 2 minutes away, serve a CRL of one entry more when serve refreshes it (about a minute later), and measure again once that one is installed")
	flag.DurationVar(&churnFor, "churn", 20*time.Second, "genuine CRL with -refresh: then make serve allocate for this long (four clients fetching /metrics) and read its memory again (0: skip)")
	flag.Parse()
	hostileScenarios = *hostile
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "cnsgate-bench-crl: -cnsgate is required")
		os.Exit(2)
	}
	if err := run(*bin, *size, *entries); err != nil {
		fmt.Fprintln(os.Stderr, "cnsgate-bench-crl:", err)
		os.Exit(1)
	}
}

// refreshCRL and hostileScenarios are the -refresh and -hostile flags.
var refreshCRL, hostileScenarios bool

// churnFor is the -churn flag.
var churnFor time.Duration

// scenario is what the CRL server answers.
type scenario struct {
	name  string
	serve func(w http.ResponseWriter, sent *atomic.Int64)
}

func run(bin string, size int64, entries int) error {
	pemHead := "-----BEGIN X509 CRL-----\n" + base64.StdEncoding.EncodeToString(derHeader(size-6))
	scenarios := []scenario{
		{"baseline: the demo CA's CRL", nil},
		{fmt.Sprintf("DER announcing %d MB", size>>20), func(w http.ResponseWriter, sent *atomic.Int64) {
			stream(w, sent, derHeader(size-6), 0, size)
		}},
		{fmt.Sprintf("PEM announcing %d MB", size>>20), func(w http.ResponseWriter, sent *atomic.Int64) {
			stream(w, sent, []byte(pemHead), 'A', size)
		}},
		{fmt.Sprintf("DER announcing 60 MiB, then %d MB", size>>20), func(w http.ResponseWriter, sent *atomic.Int64) {
			stream(w, sent, derHeader(60<<20), 0, size)
		}},
		{fmt.Sprintf("%d MB of text, no CRL", size>>20), func(w http.ResponseWriter, sent *atomic.Int64) {
			stream(w, sent, []byte("<html>"), 'x', size)
		}},
	}
	if !hostileScenarios {
		scenarios = scenarios[:1]
	}
	if entries > 0 {
		scenarios = append(scenarios, scenario{name: fmt.Sprintf("genuine CRL, %d entries", entries)})
	}
	fmt.Printf("%-40s %12s %10s %10s %12s %12s %s\n", "scenario", "bytes taken", "VmHWM MiB", "VmRSS MiB", "settled MiB", "RssAnon MiB", "CRL")
	var baseAnon, baseRSS, baseLoadedAnon, baseLoadedRSS int64
	for i, sc := range scenarios {
		genuine := 0
		if sc.serve == nil && i > 0 {
			genuine = entries
		}
		res, err := measure(bin, sc, genuine)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		fmt.Printf("%-40s %12d %10.1f %10.1f %12.1f %12.1f %s\n", sc.name, res.sent, mib(res.hwm), mib(res.rss), mib(res.settled), mib(res.anon), res.outcome)
		if i == 0 {
			baseAnon, baseRSS = res.anon, res.settled
			baseLoadedAnon, baseLoadedRSS = res.loadedAnon, res.loadedRSS
		}
		if genuine > 0 {
			perEntry := func(v, base int64) float64 { return float64(v-base) / float64(genuine) }
			fmt.Printf("%-40s %.1f bytes per entry of VmRSS over the baseline's (RssAnon: %.1f)\n", "loaded",
				perEntry(res.settled, baseRSS), perEntry(res.anon, baseAnon))
			if refreshCRL {
				fmt.Printf("%-40s %.1f bytes per entry of VmRSS over the baseline's (RssAnon: %.1f; VmRSS %.1f MiB)\n", "after one refresh",
					perEntry(res.refreshedRSS, baseRSS), perEntry(res.refreshedAnon, baseAnon), mib(res.refreshedRSS))
				if churnFor > 0 {
					fmt.Printf("%-40s %.1f bytes per entry of VmRSS over the baseline's under the same requests (RssAnon: %.1f; VmRSS %.1f MiB, baseline %.1f MiB)\n",
						"then under "+churnFor.String()+" of requests",
						perEntry(res.loadedRSS, baseLoadedRSS), perEntry(res.loadedAnon, baseLoadedAnon), mib(res.loadedRSS), mib(baseLoadedRSS))
				}
			}
		}
	}
	return nil
}

type result struct {
	sent              int64
	hwm, rss, settled int64
	anon              int64 // RssAnon once settled
	outcome           string
	// VmRSS and RssAnon 2 s after a refresh of the genuine CRL was
	// installed (-refresh), and then at the end of -churn.
	refreshedRSS, refreshedAnon int64
	loadedRSS, loadedAnon       int64
}

// measure runs one child for sc, or, when genuine > 0, for a CRL of the
// demo CA listing that many serials.
func measure(bin string, sc scenario, genuine int) (result, error) {
	dir, err := os.MkdirTemp("", "cnsgate-bench-crl-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	ports := demo.Ports{Public: freeAddr(), CNS: freeAddr(), Admin: freeAddr()}
	setup, err := demo.Prepare(dir, ports, time.Now())
	if err != nil {
		return result{}, err
	}
	handlers, err := setup.CAHandlers()
	if err != nil {
		return result{}, err
	}
	serveCRL, err := crlHandler(setup, sc, handlers[demo.CRLPath], genuine)
	if err != nil {
		return result{}, err
	}
	var sent atomic.Int64
	done := make(chan struct{}, 1)
	srv, url, err := listen(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ca.crl" {
			defer func() {
				select {
				case done <- struct{}{}:
				default:
				}
			}()
			serveCRL(w, r, &sent)
			return
		}
		if h := handlers[r.URL.Path]; h != nil { // the CIE CRLs
			h.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
	if err != nil {
		return result{}, err
	}
	defer srv.Close()
	if err := pointCRLsAt(setup.ConfigFile, url); err != nil {
		return result{}, err
	}
	after := 0 // the baseline: measured under requests too (-churn)
	switch {
	case sc.serve != nil:
		after = -1 // a hostile server: nothing more
	case genuine > 0 && refreshCRL:
		after = genuine + 1
	}
	return runChild(bin, setup.ConfigFile, ports.Admin, done, &sent, after)
}

// crlHandler returns what answers at /ca.crl.
func crlHandler(setup *demo.Setup, sc scenario, small http.Handler, genuine int) (func(http.ResponseWriter, *http.Request, *atomic.Int64), error) {
	if sc.serve != nil {
		return func(w http.ResponseWriter, _ *http.Request, sent *atomic.Int64) { sc.serve(w, sent) }, nil
	}
	if genuine == 0 {
		return func(w http.ResponseWriter, r *http.Request, sent *atomic.Int64) {
			cw := &countingWriter{ResponseWriter: w, n: sent}
			small.ServeHTTP(cw, r)
		}, nil
	}
	ders, err := largeCRLs(setup, genuine)
	if err != nil {
		return nil, err
	}
	var calls atomic.Int32
	return func(w http.ResponseWriter, _ *http.Request, sent *atomic.Int64) {
		der := ders[min(int(calls.Add(1))-1, len(ders)-1)]
		var mine atomic.Int64 // this answer's bytes: stream stops at len(der)
		stream(w, &mine, der, 0, int64(len(der)))
		sent.Add(mine.Load())
	}, nil
}

// largeCRLs makes a CRL of the demo CA listing n serials and, with
// -refresh, its successor listing one more; the first then announces a
// nextUpdate 2 minutes away, so that serve refreshes it about a minute
// after loading it.
func largeCRLs(setup *demo.Setup, n int) ([][]byte, error) {
	certPEM, err1 := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.crt"))
	keyPEM, err2 := os.ReadFile(filepath.Join(setup.Dir, "pki", "ca.key"))
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	ca, err := cnstest.LoadCA(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	at := time.Now().Add(-24 * time.Hour)
	base := new(big.Int).Lsh(big.NewInt(1), 120)
	for i := range n {
		ca.Revoke(new(big.Int).Add(base, big.NewInt(int64(i)*7919)), at, 1)
	}
	now := time.Now()
	if !refreshCRL {
		der, err := ca.CRL(now.Add(-time.Minute), now.Add(24*time.Hour))
		return [][]byte{der}, err
	}
	first, err := ca.CRL(now.Add(-time.Minute), now.Add(2*time.Minute))
	if err != nil {
		return nil, err
	}
	ca.Revoke(new(big.Int).Add(base, big.NewInt(int64(n)*7919)), at, 1)
	second, err := ca.CRL(now, now.Add(24*time.Hour))
	return [][]byte{first, second}, err
}

// stream writes first, then fill bytes, chunked, until total bytes are
// sent or the client stops reading.
func stream(w http.ResponseWriter, sent *atomic.Int64, first []byte, fill byte, total int64) {
	w.Header().Set("Content-Type", "application/pkix-crl")
	flush := w.(http.Flusher)
	chunk := bytes.Repeat([]byte{fill}, 64<<10)
	for len(first) > 0 && sent.Load() < total {
		k := min(len(first), 64<<10)
		n, err := w.Write(first[:k])
		sent.Add(int64(n))
		if err != nil {
			return
		}
		first = first[k:]
		flush.Flush()
	}
	for sent.Load() < total {
		n, err := w.Write(chunk[:min(int64(len(chunk)), total-sent.Load())])
		sent.Add(int64(n))
		if err != nil {
			return
		}
		flush.Flush()
	}
}

func derHeader(n int64) []byte {
	return []byte{0x30, 0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

var demoCRLURL = regexp.MustCompile(`http://[^"]*` + regexp.QuoteMeta(demo.CRLPath))

// pointCRLsAt makes the demo CA's CRL URL the bench server's, and the CIE
// ones too (the child serves no demo CA handlers).
func pointCRLsAt(cfgFile, url string) error {
	raw, err := os.ReadFile(cfgFile)
	if err != nil {
		return err
	}
	y := string(raw)
	if !demoCRLURL.MatchString(y) {
		return errors.New("the demo config has no CRL URL for its CA")
	}
	y = demoCRLURL.ReplaceAllString(y, url+"/ca.crl")
	for _, p := range []string{demo.CIECRLPath, demo.CIERootCRLPath} {
		y = regexp.MustCompile(`http://[^"]*`+regexp.QuoteMeta(p)).ReplaceAllString(y, url+p)
	}
	return os.WriteFile(cfgFile, []byte(y), 0o644)
}

func listen(h http.HandlerFunc) (*http.Server, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv, "http://" + l.Addr().String(), nil
}
