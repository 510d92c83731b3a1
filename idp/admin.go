package idp

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"
)

// ReadinessCheck reports whether a dependency (Redis, the database, the
// trust store) can serve; a nil error means ready.
type ReadinessCheck func(ctx context.Context) error

// AdminHandler serves /healthz (the process is alive) and /readyz (every
// check passes, each within two seconds). The admin listener also carries
// /metrics, mounted by the caller on the returned mux.
func AdminHandler(checks map[string]ReadinessCheck) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		ok := true
		for _, n := range names {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			err := checks[n](ctx)
			cancel()
			if err != nil {
				ok = false
				b.WriteString(n + ": " + err.Error() + "\n")
			} else {
				b.WriteString(n + ": ok\n")
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(b.String()))
	})
	return mux
}
