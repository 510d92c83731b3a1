package main

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/internal/benchproc"
)

// result is what a workload did in one or more rounds.
type result struct {
	ops     int64
	failed  int64
	elapsed time.Duration
	cpu     time.Duration // the server's, user + system
	lat     []time.Duration
	errs    []string
	pgXact  int64
}

func (r *result) add(o result) {
	r.ops += o.ops
	r.failed += o.failed
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.lat = append(r.lat, o.lat...)
	r.pgXact += o.pgXact
	if len(r.errs) < 3 {
		r.errs = append(r.errs, o.errs...)
	}
}

func (r result) rate() float64 { return float64(r.ops) / r.elapsed.Seconds() }

func (r result) cpuPerOp() time.Duration {
	if r.ops == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.ops)
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func (r result) line() string {
	s := fmt.Sprintf("%7d ok %4d failed %8.1f/s  p50 %6.1f ms  p99 %6.1f ms  server CPU %6.3f ms/op",
		r.ops, r.failed, r.rate(), ms(r.pct(0.50)), ms(r.pct(0.99)), ms(r.cpuPerOp()))
	if r.pgXact > 0 && r.ops > 0 {
		s += fmt.Sprintf("  PostgreSQL %.2f transactions/op", float64(r.pgXact)/float64(r.ops))
	}
	if len(r.errs) > 0 {
		s += "  first error: " + r.errs[0]
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// drive runs l's operation from conc clients for d.
func drive(l *workload, conc int, d time.Duration, newWorker func() *worker) result {
	var ops, failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var errs []string
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker()
			var mine []time.Duration
			for time.Now().Before(stop) {
				t0 := time.Now()
				if err := l.op(w); err != nil {
					failed.Add(1)
					mu.Lock()
					if len(errs) < 3 {
						errs = append(errs, err.Error())
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, time.Since(t0))
				ops.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return result{ops: ops.Load(), failed: failed.Load(), elapsed: time.Since(start), lat: lat, errs: errs}
}

func cpuOf(pid int) (time.Duration, error) { return benchproc.CPU(pid) }

// report prints the totals and the ratios to the baseline.
func report(o options, loads []*workload) {
	fmt.Println()
	fmt.Println("totals over the rounds:")
	for _, l := range loads {
		fmt.Printf("%-24s %s\n", l.name, l.total.line())
	}
	b := loads[len(loads)-1].total
	fmt.Println()
	for _, l := range loads[:len(loads)-1] {
		r := l.total
		cpuRatio := 0.0
		if r.cpuPerOp() > 0 {
			cpuRatio = float64(b.cpuPerOp()) / float64(r.cpuPerOp())
		}
		fmt.Printf("%-24s rate ratio %.2f, server-CPU ratio %.2f (baseline CPU per op / cnsgate's)\n", l.name, r.rate()/b.rate(), cpuRatio)
		if l.of != nil && l.of.total.cpuPerOp() > 0 {
			fmt.Printf("%-24s server CPU per refusal / per normal login of the same server: %.2f\n", l.name,
				float64(r.cpuPerOp())/float64(l.of.total.cpuPerOp()))
		}
	}
}
