package oidc_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The /userinfo and /introspect benchmarks call the running harness (memory
// sessions) over loopback HTTPS with keep-alive connections, from
// GOMAXPROCS×4 goroutines, with one access token of a real card login;
// the rate is b.N over the elapsed time (the "req/s" metric):
//
//	go test -run '^$' -bench 'Userinfo|Introspect' -benchtime 20000x -cpuprofile /tmp/cpu.out ./idp/oidc/

func BenchmarkUserinfo(b *testing.B) {
	benchBearer(b, func(h *harness, access string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, h.public.URL+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		return req
	})
}

func BenchmarkIntrospect(b *testing.B) {
	benchBearer(b, func(h *harness, access string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, h.public.URL+"/introspect", strings.NewReader(url.Values{"token": {access}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("esenzioni", secretBasic)
		return req
	})
}

// benchBearer logs in once, then times b.N requests made by newReq in
// parallel; every answer must be 200.
func benchBearer(b *testing.B, newReq func(h *harness, access string) *http.Request) {
	ok := testing.RunTests(func(_, _ string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: b.Name() + "/harness", F: func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			code, verifier := h.code(h.citizen(), "esenzioni")
			access, _, _ := h.tokens(h.exchange("esenzioni", code, verifier))
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.roots}, MaxIdleConnsPerHost: 256}}
			b.SetParallelism(4)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := c.Do(newReq(h, access))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("answered %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		}}})
	if !ok {
		b.Fatal("the harness failed")
	}
}
