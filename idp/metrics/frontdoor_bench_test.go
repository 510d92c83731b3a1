package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/metrics"
)

// BenchmarkFrontDoorWrappers times what cmd/cnsgate wraps around every
// request of the public and card listeners (HSTS, FrontDoor.RequestInfo,
// Metrics.Instrument) around a mux whose one route answers a small JSON,
// against the same mux bare: the difference is the wrappers' own cost.
//
//	go test -run '^$' -bench FrontDoorWrappers -benchmem ./idp/metrics/
func BenchmarkFrontDoorWrappers(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"sub":"x"}`)
	})
	m := metrics.New(metrics.Options{Version: "bench"})
	front := idp.NewFrontDoor(nil, idp.FrontDoorOptions{Recorder: m})
	hsts := idp.HSTS(365*24*time.Hour, true)
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", mux},
		{"wrapped", hsts(front.RequestInfo(m.Instrument(mux)))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "https://idp.example/userinfo", nil)
			req.RemoteAddr = "192.0.2.7:40000"
			b.ReportAllocs()
			for b.Loop() {
				w := &discardWriter{h: http.Header{}}
				tc.h.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("answered %d", w.code)
				}
			}
		})
	}
}

// discardWriter is the least a ResponseWriter does, so that the figures
// are the handlers'.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}
