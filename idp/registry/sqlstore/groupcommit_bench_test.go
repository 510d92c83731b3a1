package sqlstore

import (
	"fmt"
	"strconv"
	"syscall"
	"testing"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// BenchmarkGroupCommit measures one batch's commit, per write, as a login
// makes them: half the writes a login event carrying its card's last
// login, half a token_issued event alone, over 16 registered cards.
//
//	go test -run '^$' -bench GroupCommit -benchtime 2000x ./idp/registry/sqlstore
func BenchmarkGroupCommit(b *testing.B) {
	for _, bk := range backends {
		for _, size := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/batch=%d", bk.name, size), func(b *testing.B) {
				benchGroupCommit(b, bk, size)
			})
		}
	}
}

func benchGroupCommit(b *testing.B, bk backend, size int) {
	d, err := Open(ctx, bk.driver, bk.dsn(b))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var fps []string
	for i := range 16 {
		cf := cfOf(fmt.Sprintf("RSSMRA80A01H%03d", 100+i))
		r, _, err := d.Register(ctx, card(cf, "b"+strconv.Itoa(i)))
		if err != nil {
			b.Fatal(err)
		}
		fps = append(fps, r.Fingerprint)
	}
	batch := make([]*writeOp, size)
	fill := func(n int) {
		for j := range batch {
			e := &registry.Event{At: d.now(), Kind: registry.KindTokenIssued, Outcome: registry.OutcomeSuccess,
				FiscalCode: "RSSMRA80A01H501U", Client: "rp", SessionHash: "3q2-7wEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
				RemoteIP: "127.0.0.1", RequestID: strconv.Itoa(n*size + j)}
			op := &writeOp{event: e, done: make(chan error, 1)}
			if j%2 == 0 {
				e.Kind = registry.KindLogin
				op.fingerprint, op.at = fps[(n+j)%len(fps)], e.At
			}
			batch[j] = op
		}
	}
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for n := range b.N {
		b.StopTimer()
		fill(n)
		b.StartTimer()
		// The benchmark is the writer: nothing else writes meanwhile.
		d.w.commit(batch)
		for _, op := range batch {
			if err := <-op.done; err != nil {
				b.Fatal(err)
			}
		}
	}
	// CPU time rather than wall time: the machine is shared.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N*size), "cpu-ns/write")
}

// cpuTime is the process's user and system CPU time so far, in ns.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
