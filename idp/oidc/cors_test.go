package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp/oidc"
)

// TestCORS: the endpoints a browser application calls answer its
// preflights and requests with CORS headers for the origins of the
// clients' redirect URIs or their allowed_origins, echoing the origin,
// never "*" and never with credentials; any other origin gets none.
func TestCORS(t *testing.T) {
	const listed = "http://127.0.0.1:5173"
	h := newHarness(t, harnessOptions{provider: func(o *oidc.Options) {
		o.Clients = append(o.Clients, oidc.Client{ID: "spa", AuthMethod: oidc.AuthNone, SubjectType: oidc.SubjectPairwise,
			RedirectURIs: []string{"https://spa.example/cb"}, AllowedOrigins: []string{listed}})
	}})
	rpOrigin := h.rp.srv.URL // the origin of the harness clients' redirect URIs
	endpoints := []struct {
		path, method string
		body         url.Values
	}{
		{"/.well-known/openid-configuration", http.MethodGet, nil},
		{"/jwks", http.MethodGet, nil},
		{"/token", http.MethodPost, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}, "client_id": {"native"}}},
		{"/userinfo", http.MethodGet, nil},
		{"/revoke", http.MethodPost, url.Values{"token": {"unknown"}, "client_id": {"native"}}},
		{"/introspect", http.MethodPost, url.Values{"token": {"unknown"}, "client_id": {"native"}}},
	}
	do := func(method, path, origin string, hdr map[string]string, body url.Values) *http.Response {
		t.Helper()
		var req *http.Request
		if body != nil {
			req, _ = http.NewRequest(method, h.public.URL+path, strings.NewReader(body.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequest(method, h.public.URL+path, nil)
		}
		req.Header.Set("Origin", origin)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := h.httpClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	noCredentials := func(t *testing.T, resp *http.Response) {
		t.Helper()
		if resp.Header.Get("Access-Control-Allow-Credentials") != "" || resp.Header.Get("Access-Control-Allow-Origin") == "*" {
			t.Fatalf("credentials or a wildcard: %v", resp.Header)
		}
	}
	for _, ep := range endpoints {
		for _, origin := range []string{rpOrigin, listed} {
			t.Run("ok/preflight"+ep.path+"/"+origin, func(t *testing.T) {
				resp := do(http.MethodOptions, ep.path, origin, map[string]string{
					"Access-Control-Request-Method": ep.method, "Access-Control-Request-Headers": "authorization,content-type"}, nil)
				if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
					!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), ep.method) ||
					!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
					t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
				}
				noCredentials(t, resp)
			})
			t.Run("ok/request"+ep.path+"/"+origin, func(t *testing.T) {
				resp := do(ep.method, ep.path, origin, nil, ep.body)
				if resp.Header.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(resp.Header.Get("Vary"), "Origin") {
					t.Fatalf("%s %s answered %d without CORS for %s: %v", ep.method, ep.path, resp.StatusCode, origin, resp.Header)
				}
				noCredentials(t, resp)
			})
		}
		for _, origin := range []string{"https://evil.example", "null", "https://spa.example", rpOrigin + ".evil.example", "http://127.0.0.1:5174", strings.Replace(rpOrigin, "https:", "http:", 1)} {
			t.Run("fail/unknown-origin"+ep.path+"/"+origin, func(t *testing.T) {
				endpoint := map[string]string{"/.well-known/openid-configuration": oidc.EndpointDiscovery}[ep.path]
				if endpoint == "" {
					endpoint = strings.TrimPrefix(ep.path, "/")
				}
				before := h.rec.count(h.rec.cors, endpoint)
				pre := do(http.MethodOptions, ep.path, origin, map[string]string{"Access-Control-Request-Method": ep.method}, nil)
				req := do(ep.method, ep.path, origin, nil, ep.body)
				for _, resp := range []*http.Response{pre, req} {
					for k := range resp.Header {
						if strings.HasPrefix(k, "Access-Control-") {
							t.Fatalf("%s %s from %s: %s: %v", resp.Request.Method, ep.path, origin, k, resp.Header)
						}
					}
				}
				if pre.StatusCode != http.StatusForbidden {
					t.Fatalf("preflight from %s: %d", origin, pre.StatusCode)
				}
				if got := h.rec.count(h.rec.cors, endpoint) - before; got != 2 {
					t.Fatalf("refusals counted for %s: %d, want 2 (preflight and request)", endpoint, got)
				}
			})
		}
	}
	t.Run("fail/preflight-of-another-method", func(t *testing.T) {
		resp := do(http.MethodOptions, "/token", rpOrigin, map[string]string{"Access-Control-Request-Method": http.MethodDelete}, nil)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("DELETE preflight: %d %v", resp.StatusCode, resp.Header)
		}
	})
}
