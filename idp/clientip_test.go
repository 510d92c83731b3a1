package idp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

func TestClientIP(t *testing.T) {
	xff, err := idp.NewTrustedProxies([]string{"10.0.0.0/8", "fd00::/8"}, idp.ProxyRFC9440)
	if err != nil {
		t.Fatal(err)
	}
	fwd, _ := idp.NewTrustedProxies([]string{"10.0.0.0/8", "fd00::/8"}, idp.ProxyRFC9440)
	fwd.Forwarded = idp.ForwardedRFC7239
	tests := []struct {
		name    string
		proxies *idp.TrustedProxies
		peer    string
		header  map[string][]string
		want    string
		wantErr string
	}{
		{"ok/untrusted-peer-ignores-header", xff, "198.51.100.9:5000", map[string][]string{"X-Forwarded-For": {"203.0.113.7"}}, "198.51.100.9", ""},
		{"ok/nil-proxies", nil, "198.51.100.9:5000", map[string][]string{"X-Forwarded-For": {"203.0.113.7"}}, "198.51.100.9", ""},
		{"ok/trusted-peer-one-hop", xff, "10.0.0.2:5000", map[string][]string{"X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7", ""},
		{"ok/client-prepends-a-lie", xff, "10.0.0.2:5000", map[string][]string{"X-Forwarded-For": {"192.0.2.66, 203.0.113.7"}}, "203.0.113.7", ""},
		{"ok/chain-of-trusted-proxies", xff, "10.0.0.2:5000", map[string][]string{"X-Forwarded-For": {"203.0.113.7, 10.1.1.1", "10.2.2.2"}}, "203.0.113.7", ""},
		{"ok/all-trusted-takes-left-most", xff, "10.0.0.2:5000", map[string][]string{"X-Forwarded-For": {"10.9.9.9, 10.1.1.1"}}, "10.9.9.9", ""},
		{"ok/no-header-is-the-peer", xff, "10.0.0.2:5000", nil, "10.0.0.2", ""},
		{"ok/ipv6-and-port", xff, "[fd00::1]:5000", map[string][]string{"X-Forwarded-For": {"[2001:db8::7]:4711"}}, "2001:db8::7", ""},
		{"ok/mapped-v4", xff, "[::ffff:10.0.0.2]:5000", map[string][]string{"X-Forwarded-For": {"::ffff:203.0.113.7"}}, "203.0.113.7", ""},
		{"ok/forwarded", fwd, "10.0.0.2:5000", map[string][]string{"Forwarded": {`for=192.0.2.66, for="[2001:db8::7]:4711";proto=https`}}, "2001:db8::7", ""},
		{"ok/forwarded-ignores-xff", fwd, "10.0.0.2:5000", map[string][]string{"X-Forwarded-For": {"192.0.2.66"}}, "10.0.0.2", ""},
		{"fail/garbage-hop", xff, "10.0.0.2:5000", map[string][]string{"X-Forwarded-For": {"203.0.113.7, evil<script>"}}, "10.0.0.2", `"evil<script>" is not an IP address`},
		{"fail/forwarded-unknown", fwd, "10.0.0.2:5000", map[string][]string{"Forwarded": {"for=unknown"}}, "10.0.0.2", `"unknown" is not an IP address`},
		{"fail/too-many-hops", xff, "10.0.0.2:5000", map[string][]string{"X-Forwarded-For": {strings.Repeat("10.0.0.1, ", 40) + "203.0.113.7"}}, "203.0.113.7", "41 hops, only the last 32 read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "https://login.example/", nil)
			r.RemoteAddr = tc.peer
			for k, vs := range tc.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			got, err := tc.proxies.ClientIP(r)
			if got != tc.want {
				t.Errorf("ClientIP = %q, want %q", got, tc.want)
			}
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func FuzzClientIP(f *testing.F) {
	p, _ := idp.NewTrustedProxies([]string{"127.0.0.0/8"}, idp.ProxyRFC9440)
	f.Add("203.0.113.7, 127.0.0.1", `for="[::1]:80";by=x`)
	f.Fuzz(func(t *testing.T, xff, fwd string) {
		r, _ := http.NewRequest("GET", "https://login.example/", nil)
		r.RemoteAddr = "127.0.0.1:1"
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("Forwarded", fwd)
		if ip, _ := p.ClientIP(r); ip == "" {
			t.Fatal("no address")
		}
	})
}

// TestAuditClientAddressBehindProxy, over the network: a request through
// a trusted proxy (the loopback peer is trusted) with X-Forwarded-For lands
// in the audit trail with the client's address, not the proxy's; the same
// header from an untrusted peer is ignored; a header that does not read is
// logged and counted and the nearest readable hop is recorded.
func TestAuditClientAddressBehindProxy(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		xff     string
		wantIP  string
		wantBad int
	}{
		{"ok/trusted-proxy", []string{"127.0.0.1/32", "::1/128"}, "192.0.2.66, 203.0.113.7", "203.0.113.7", 0},
		{"ok/untrusted-peer-ignored", []string{"10.0.0.0/8"}, "203.0.113.7", "127.0.0.1", 0},
		{"fail/unreadable-hop", []string{"127.0.0.1/32", "::1/128"}, "203.0.113.7, not-an-ip", "127.0.0.1", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proxies, err := idp.NewTrustedProxies(tc.trusted, idp.ProxyRFC9440)
			if err != nil {
				t.Fatal(err)
			}
			rec := &countingRecorder{}
			h := newHarness(t, backends[0], harnessOptions{proxies: proxies, recorder: rec})
			card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "BNCGNN90D45F205V"})
			// An unregistered card: the login is refused, and audited.
			req, _ := http.NewRequest("GET", h.cns.URL+"/cns/login", nil)
			req.Header.Set("X-Forwarded-For", tc.xff)
			br := h.browser(card)
			if proxies.Trusted("127.0.0.1:1") {
				br = h.browser(nil)
				req.Header.Set("Client-Cert", rfc9440(card))
			}
			resp, err := br.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			readPage(t, resp).must(t, 200, "Registra TS-CNS")
			ev := waitAudit(t, h, "BNCGNN90D45F205V", registry.OutcomeFailure, x509cns.ReasonNotRegistered)
			if ev.RemoteIP != tc.wantIP {
				t.Fatalf("audit remote_ip %q, want %q", ev.RemoteIP, tc.wantIP)
			}
			rec.mu.Lock()
			bad := rec.badFwd
			rec.mu.Unlock()
			if bad != tc.wantBad {
				t.Fatalf("unreadable forwarded headers counted: %d, want %d", bad, tc.wantBad)
			}
		})
	}
}
