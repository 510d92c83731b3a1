package oidc_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// POST /token from several relying-party connections at once, against the
// bare signing endpoint driven the same way: what a busy provider sees,
// where concurrent token responses share the audit trail's commits (the
// group commit) as they do in production, while BenchmarkTokenKeepAlive*
// pays one commit per call. The codes are minted before the timer; both
// report cpu-us/op, the process's CPU over the concurrent calls divided
// by their number:
//
//	go test -run '^$' -bench 'TokenParallel' -benchtime 1000x ./idp/oidc/

// tokenClients is how many relying-party connections post at once.
const tokenClients = 8

func BenchmarkTokenParallelES256(b *testing.B) {
	ok := testing.RunTests(func(_, _ string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: b.Name() + "/harness", F: func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			br := h.citizen()
			type call struct {
				form       url.Values
				id, secret string
			}
			calls := make([]call, b.N)
			for i := range calls {
				code, verifier := h.code(br, "es256")
				form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
					"redirect_uri": {h.rp.srv.URL + "/cb/es256"}}
				id, secret := h.authenticate("es256", form)
				calls[i] = call{form, id, secret}
			}
			cpu, err := postConcurrently(b, h, len(calls), func(hc *http.Client, i int) error {
				return postToken(hc, h.public.URL+"/token", calls[i].form, calls[i].id, calls[i].secret)
			})
			if err != nil {
				t.Fatal(err)
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
		}}})
	if !ok {
		b.Fatal("the token exchange failed")
	}
}

func BenchmarkTokenEndpointBaselineParallelES256(b *testing.B) {
	ok := testing.RunTests(func(_, _ string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: b.Name() + "/server", F: func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			srv := bareSigningServer(t, h, "es256.pem", false)
			defer srv.Close()
			form := url.Values{"grant_type": {"authorization_code"}, "code": {"bare-code"}, "code_verifier": {"v"},
				"redirect_uri": {h.rp.srv.URL + "/cb/es256"}, "client_id": {"es256"}}
			cpu, err := postConcurrently(b, h, b.N, func(hc *http.Client, _ int) error {
				return postToken(hc, srv.URL+"/token", form, "", "")
			})
			if err != nil {
				t.Fatal(err)
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
		}}})
	if !ok {
		b.Fatal("the bare signing endpoint failed")
	}
}

// postConcurrently makes calls 0..n-1 from tokenClients keep-alive
// clients at once, under the benchmark's timer, and returns the process
// CPU they took and the first error.
func postConcurrently(b *testing.B, h *harness, n int, call func(hc *http.Client, i int) error) (time.Duration, error) {
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	clients := make([]*http.Client, tokenClients)
	for i := range clients {
		clients[i] = keepAliveClient(h.roots)
	}
	var wg sync.WaitGroup
	errs := make(chan error, tokenClients)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := processCPU()
	for _, hc := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := call(hc, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	cpu := processCPU() - c0
	b.StopTimer()
	close(errs)
	return cpu, <-errs
}

// postToken posts form to endpoint and wants a 200 with an ID token.
func postToken(hc *http.Client, endpoint string, form url.Values, id, secret string) error {
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s answered %d: %.200s", endpoint, resp.StatusCode, body)
	case !strings.Contains(string(body), `"id_token"`):
		return errors.New("no ID token: " + string(body[:min(len(body), 200)]))
	}
	return nil
}
