package main

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cnsgate/cnsgate/internal/benchproc"
)

// result is what a workload did in one or more rounds.
type result struct {
	ops     int64
	failed  int64
	elapsed time.Duration
	cpu     time.Duration // the server's, user + system
	gen     time.Duration // the load generator's (this process), user + system
	lat     []time.Duration
	errs    []string
	pgXact  int64
}

func (r *result) add(o result) {
	r.ops += o.ops
	r.failed += o.failed
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.gen += o.gen
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

// genPerOp is the load generator's CPU per operation.
func (r result) genPerOp() time.Duration {
	if r.ops == 0 {
		return 0
	}
	return r.gen / time.Duration(r.ops)
}

// genShare is the share of its CPUs the load generator used: near 1, it
// is what limits the rate and the latency, not the server.
func (r result) genShare() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.gen) / float64(r.elapsed) / float64(runtime.NumCPU())
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
	s := fmt.Sprintf("%7d ok %4d failed %8.1f/s  p50 %6.1f ms  p99 %6.1f ms  server CPU %6.3f ms/op  generator CPU %6.3f ms/op (%3.0f%% of %d CPU)",
		r.ops, r.failed, r.rate(), ms(r.pct(0.50)), ms(r.pct(0.99)), ms(r.cpuPerOp()), ms(r.genPerOp()), 100*r.genShare(), runtime.NumCPU())
	if r.pgXact > 0 && r.ops > 0 {
		s += fmt.Sprintf("  PostgreSQL %.2f transactions/op", float64(r.pgXact)/float64(r.ops))
	}
	if len(r.errs) > 0 {
		s += "  first error: " + r.errs[0]
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// meter reads the CPU time of the server and of the load generator around
// the measured part of a drive; started, when set, is called as the clock
// starts.
type meter struct {
	cpu, gen time.Duration
	started  func()
}

func (m *meter) start(pid int) error {
	if m.started != nil {
		m.started()
	}
	var err error
	if m.cpu, err = cpuOf(pid); err == nil {
		m.gen, err = selfCPU()
	}
	return err
}

func (m *meter) stop(pid int, r *result) error {
	cpu, err := cpuOf(pid)
	if err != nil {
		return err
	}
	gen, err := selfCPU()
	r.cpu, r.gen = cpu-m.cpu, gen-m.gen
	return err
}

// selfCPU is this process's CPU time, user + system, to the microsecond.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// drive runs l's operation from conc clients for d, after l.prepare has
// readied them; the clock starts after the preparation, and so do m's CPU
// readings (nil: none). A client whose prepared work is used up
// (errDrained) stops early.
func drive(l *workload, conc int, d time.Duration, newWorker func() *worker, m *meter) (result, error) {
	ws := make([]*worker, conc)
	for i := range ws {
		ws[i] = newWorker()
	}
	if l.prepare != nil {
		if err := l.prepare(ws, d); err != nil {
			return result{}, fmt.Errorf("preparation: %w", err)
		}
	}
	if m != nil {
		if err := m.start(l.pid); err != nil {
			return result{}, err
		}
	}
	var ops, failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var errs []string
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(stop) {
				t0 := time.Now()
				err := l.op(w)
				if errors.Is(err, errDrained) {
					break
				}
				if err != nil {
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
	r := result{ops: ops.Load(), failed: failed.Load(), elapsed: time.Since(start), lat: lat, errs: errs}
	if m != nil {
		if err := m.stop(l.pid, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

func cpuOf(pid int) (time.Duration, error) { return benchproc.CPU(pid) }

// report prints the totals and the ratios of each workload to the
// baseline of its kind.
func report(conc int, loads []*workload) {
	fmt.Println()
	fmt.Println("totals over the rounds:")
	for _, l := range loads {
		fmt.Printf("%-30s %s\n", l.name, l.total.line())
	}
	fmt.Println()
	fmt.Printf("the load generator alone bounds the mean latency at c=%d from below by c × its CPU per op / its %d CPU:\n", conc, runtime.NumCPU())
	for _, l := range loads {
		fmt.Printf("%-30s %6.2f ms\n", l.name, ms(generatorFloor(conc, l.total)))
	}
	fmt.Println()
	for _, l := range loads {
		if l.base == nil {
			continue
		}
		r, b := l.total, l.base.total
		cpuRatio := 0.0
		if r.cpuPerOp() > 0 {
			cpuRatio = float64(b.cpuPerOp()) / float64(r.cpuPerOp())
		}
		fmt.Printf("%-30s rate ratio %.2f, server-CPU ratio %.2f (%s CPU per op / cnsgate's); %.0f ops per server CPU second\n",
			l.name, r.rate()/b.rate(), cpuRatio, l.base.name, perCPUSecond(r))
		if l.of != nil && l.of.total.cpuPerOp() > 0 {
			fmt.Printf("%-30s server CPU per refusal / per normal login of the same server: %.2f\n", l.name,
				float64(r.cpuPerOp())/float64(l.of.total.cpuPerOp()))
		}
	}
}

// generatorFloor is the least mean latency conc clients can see when
// every operation costs the load generator genPerOp on its CPUs (Little's
// law at the generator's full use): a p99 below it is out of reach
// whatever the server does.
func generatorFloor(conc int, r result) time.Duration {
	return time.Duration(conc) * r.genPerOp() / time.Duration(runtime.NumCPU())
}

// perCPUSecond is the operations one server core would serve if the
// server used it all: the absolute figure of the keep-alive workloads.
func perCPUSecond(r result) float64 {
	if r.cpu <= 0 {
		return 0
	}
	return float64(r.ops) / r.cpu.Seconds()
}
