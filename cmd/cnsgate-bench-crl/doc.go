// Command cnsgate-bench-crl measures what a huge CRL costs a running
// cnsgate: for each scenario it prepares a demo directory, points the demo
// CA's CRL URL at a loopback HTTP server of its own, runs `cnsgate serve`
// as a child process (which fetches that CRL at start), and reads the
// child's peak and current resident memory (VmHWM, VmRSS in
// /proc/PID/status) once the server has sent what it offers and the child
// is ready. The baseline, in the same run, is the demo CA's own small CRL.
// For the genuine CRL of -entries serials it also measures, with -refresh
// (default), once serve has refreshed it to a successor of one entry more,
// and, with -churn (default 20s), at the end of that long of requests
// (four clients fetching /metrics), against the baseline under the same
// requests: the resident cost per entry of a running, busy server.
// -hostile=false leaves out the hostile servers. BENCHMARKS.md gives the
// figures.
//
//	go build -o /tmp/cnsgate ./cmd/cnsgate
//	go run ./cmd/cnsgate-bench-crl -cnsgate /tmp/cnsgate
//	go run ./cmd/cnsgate-bench-crl -cnsgate /tmp/cnsgate -hostile=false   # the resident cost only
//
// # Files
//
//	child.go  the cnsgate child process: start, readiness, /proc memory readings
//	main.go   flags, the scenarios and the report
//	doc.go    this map
package main
