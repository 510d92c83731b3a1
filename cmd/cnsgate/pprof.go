package main

import (
	"net/http"
	"net/http/pprof"
	"os"
)

// pprofEnv names the environment variable that, set to 1, mounts Go's
// runtime profiles (net/http/pprof) on the admin listener under
// /debug/pprof/. It is an operator's opt-in for measuring a running
// server (cmd/cnsgate-bench-login -cpuprofile uses it); off by default,
// and only ever on the admin listener, never on the public or card one.
const pprofEnv = "CNSGATE_PPROF"

// mountPprof adds the profiles to mux when CNSGATE_PPROF=1; it reports
// whether it did.
func mountPprof(mux *http.ServeMux) bool {
	if os.Getenv(pprofEnv) != "1" {
		return false
	}
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return true
}
