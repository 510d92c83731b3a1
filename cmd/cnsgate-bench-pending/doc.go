// Command cnsgate-bench-pending measures what a flood of unauthenticated
// login starts costs a running cnsgate: it runs `cnsgate demo` as a child
// process on loopback, reads its resident memory (VmRSS in
// /proc/PID/status) idle, sends /authorize requests of the demo's
// Esenzioni client from one client as fast as it answers, and reads the
// memory again, in the same run. BENCHMARKS.md gives the figures.
//
//	go build -o /tmp/cnsgate ./cmd/cnsgate
//	go run ./cmd/cnsgate-bench-pending -cnsgate /tmp/cnsgate -n 100000
//
// -env passes settings to the child, e.g. -env CNSGATE_LIMITS_PENDING_PER_IP_RATE=100000000
// to measure the pending-store cap alone, without the per-IP limit.
//
// # Files
//
//	main.go   flags, the scenarios and the report
//	doc.go    this map
package main
