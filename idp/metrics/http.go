package metrics

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cnsgate/cnsgate/idp"
)

// Unmatched is the route label of a request no ServeMux pattern matched
// (the mux's own 404 and 405 answers) and of the 404 page mounted on the
// catch-all idp.NotFoundPattern.
const Unmatched = "unmatched"

// Instrument times every request that next serves, labelled with the
// ServeMux pattern that matched it (e.g. "GET /cns/login", never the raw
// path) and the status code.
//
// The pattern is read from the request's Pattern field after next returns;
// a ServeMux sets it on the very *http.Request it was handed. So next must
// be the mux itself (or a handler passing the same request through): wrap
// request-copying middleware such as idp.WithRequestInfo around Instrument,
// not inside it —
//
//	idp.WithRequestInfo(m.Instrument(svc.PublicHandler()))
//
// otherwise every request is labelled "unmatched".
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	obs := &observers{vec: m.httpDuration, m: map[routeCode]prometheus.Observer{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := m.now()
		sw := &statusWriter{ResponseWriter: w}
		done := false
		defer func() {
			code := sw.code
			if !done && code == 0 {
				code = http.StatusInternalServerError // the handler panicked before answering
			}
			if code == 0 {
				code = http.StatusOK
			}
			route := r.Pattern
			if route == "" || route == idp.NotFoundPattern {
				// What the 404 page on the catch-all answers matched no
				// route; a handler of "/" is labelled "/".
				route = Unmatched
			}
			obs.of(route, code).Observe(m.now().Sub(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
		done = true
	})
}

// routeCode is the labels of one series of cnsgate_http_request_duration_seconds.
type routeCode struct {
	route string
	code  int
}

// observers caches the series of each route and status code that an
// Instrument wrapper has seen: both come from bounded sets (the mux's
// patterns, the status codes handlers answer), and the lookup by label
// values (hashing, checking, formatting the code) is then paid once per
// series instead of once per request.
type observers struct {
	vec *prometheus.HistogramVec
	mu  sync.RWMutex
	m   map[routeCode]prometheus.Observer
}

func (o *observers) of(route string, code int) prometheus.Observer {
	k := routeCode{route, code}
	o.mu.RLock()
	obs, ok := o.m[k]
	o.mu.RUnlock()
	if ok {
		return obs
	}
	obs = o.vec.WithLabelValues(route, strconv.Itoa(code))
	o.mu.Lock()
	o.m[k] = obs
	o.mu.Unlock()
	return obs
}

// statusWriter remembers the status code of the response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx other than 101 are informational: the final status follows.
	if w.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes a flush through, for streamed answers.
func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush() //nolint:errcheck // nothing to do when it cannot flush
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
