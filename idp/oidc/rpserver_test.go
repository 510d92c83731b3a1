package oidc_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
)

// clock is a settable time source shared by the memory store and the
// provider, so that tests can let codes and tokens expire.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// recorder counts what the provider and the login service's
// logout-delivery engine report.
type recorder struct {
	idp.NopRecorder
	mu     sync.Mutex
	tokens map[string]int // kind/client
	logout map[string]int // kind/result
	// limited counts the login starts refused by the per-IP limit, by route.
	limited map[string]int
	ended   map[string]int // sessions ended, by cause
	// cors counts refused cross-origin requests, by endpoint; reuse the
	// reused refresh tokens, by client/outcome.
	cors, reuse map[string]int
	// profile counts the authorization requests refused by a profile's
	// rules, by client/reason.
	profile map[string]int
}

func (r *recorder) ProfileRefused(client, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.profile == nil {
		r.profile = map[string]int{}
	}
	r.profile[client+"/"+reason]++
}

func (r *recorder) CORSRefused(endpoint string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cors[endpoint]++
}

func (r *recorder) RefreshReused(client, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reuse[client+"/"+outcome]++
}

func (r *recorder) SessionEnded(cause string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended[cause]++
}

func (r *recorder) endedBy(cause string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended[cause]
}

func (r *recorder) RateLimited(route string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limited[route]++
}

func (r *recorder) TokenIssued(kind, client string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens[kind+"/"+client]++
}

func (r *recorder) LogoutNotification(kind, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logout[kind+"/"+result]++
}

func (r *recorder) count(m map[string]int, key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return m[key]
}

// rpServer is the relying parties' side: redirect targets, a jwks_uri and
// back-channel logout endpoints whose answers a test can script.
type rpServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	jwks     []byte
	statuses []int // answers of the next back-channel deliveries; then 200
	received chan receivedLogout
}

type receivedLogout struct {
	client, token string
}

func newRPServer(t *testing.T) *rpServer {
	rp := &rpServer{received: make(chan receivedLogout, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		defer rp.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(rp.jwks)
	})
	mux.HandleFunc("POST /backchannel/{client}", func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		status := http.StatusOK
		if len(rp.statuses) > 0 {
			status, rp.statuses = rp.statuses[0], rp.statuses[1:]
		}
		rp.mu.Unlock()
		if status == http.StatusOK {
			rp.received <- receivedLogout{client: r.PathValue("client"), token: r.PostFormValue("logout_token")}
		}
		w.WriteHeader(status)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "relying party:", r.URL.Path) })
	rp.srv = httptest.NewTLSServer(mux)
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *rpServer) setJWKS(b []byte) {
	rp.mu.Lock()
	rp.jwks = b
	rp.mu.Unlock()
}

func (rp *rpServer) script(statuses ...int) {
	rp.mu.Lock()
	rp.statuses = statuses
	rp.mu.Unlock()
}

// logout waits for a back-channel logout token.
func (rp *rpServer) logout(t *testing.T) receivedLogout {
	t.Helper()
	select {
	case l := <-rp.received:
		return l
	case <-time.After(5 * time.Second):
		t.Fatal("no back-channel logout received")
	}
	return receivedLogout{}
}
