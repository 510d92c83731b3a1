// Package freeport hands out loopback TCP ports for tests and bench tools
// that must name an address before the server that will listen on it
// starts (the demo's issuer URLs, a Redis or PostgreSQL command line).
//
// Asking the kernel for port 0 and closing the listener is not enough: the
// port it returns comes from the ephemeral range, which every outgoing
// connection (a Redis client dialling, a test's HTTP client) also draws
// from, so on a busy test machine it is often taken again before the server
// binds it. Ports here come from below that range, are checked free at the
// time, and are never handed out twice by one process.
//
// Files:
//   - doc.go: this overview.
//   - freeport.go: Addr, Port and the ephemeral-range reading.
package freeport
