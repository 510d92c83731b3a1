// Command cnsgate-bench-crl measures what a huge CRL costs a running
// cnsgate: for each scenario it prepares a demo directory, points the demo
// CA's CRL URL at a loopback HTTP server of its own, runs `cnsgate serve`
// as a child process (which fetches that CRL at start), and reads the
// child's peak and current resident memory (VmHWM, VmRSS in
// /proc/PID/status) once the server has sent what it offers and the child
// is ready. The baseline, in the same run, is the demo CA's own small CRL.
// BENCHMARKS.md gives the figures.
//
//	go build -o /tmp/cnsgate ./cmd/cnsgate
//	go run ./cmd/cnsgate-bench-crl -cnsgate /tmp/cnsgate
//
// # Files
//
//	child.go  the cnsgate child process: start, readiness, /proc memory readings
//	main.go   flags, the scenarios and the report
//	doc.go    this map
package main
