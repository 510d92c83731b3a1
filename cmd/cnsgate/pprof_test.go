package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestPprofOnlyWhenAsked: the runtime profiles are on the admin mux only
// with CNSGATE_PPROF=1; any other value leaves them off.
func TestPprofOnlyWhenAsked(t *testing.T) {
	for env, want := range map[string]int{"": http.StatusNotFound, "0": http.StatusNotFound, "true": http.StatusNotFound, "1": http.StatusOK} {
		t.Setenv(pprofEnv, env)
		mux := http.NewServeMux()
		if mounted := mountPprof(mux); mounted != (want == http.StatusOK) {
			t.Errorf("CNSGATE_PPROF=%q: mounted %v", env, mounted)
		}
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/allocs"} {
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			if w.Code != want {
				t.Errorf("CNSGATE_PPROF=%q: GET %s answered %d, want %d", env, path, w.Code, want)
			}
		}
	}
}
