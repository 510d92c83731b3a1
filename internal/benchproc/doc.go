// Package benchproc holds what the bench tools under cmd/ share to measure
// a cnsgate child process as a user would: its memory as the kernel counts
// it (/proc/PID/status) and spare loopback ports. It serves only those
// tools; nothing of cnsgate itself imports it.
//
// # Files
//
//	doc.go     this map
//	proc.go    Status, Memory: /proc/PID/status in bytes; CPU: /proc/PID/stat CPU time; MiB; FreeAddr
package benchproc
