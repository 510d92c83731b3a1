package revocation

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// seenRequests records what a loopback server was sent.
type seenRequests struct {
	mu      sync.Mutex
	auth    []string
	cookies []string
	paths   []string
}

func (s *seenRequests) note(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.cookies = append(s.cookies, r.Header.Get("Cookie"))
	s.paths = append(s.paths, r.URL.Path)
}

func (s *seenRequests) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.paths)
}

// redirector answers /start with a redirect to target (relative to its
// own URL when target starts with "/"), sets a cookie, and serves h
// elsewhere.
func redirector(t *testing.T, seen *seenRequests, target string, h http.Handler) string {
	t.Helper()
	return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.note(r)
		http.SetCookie(w, &http.Cookie{Name: "track", Value: "1", Path: "/"})
		if r.URL.Path == "/start" {
			http.Redirect(w, r, target, http.StatusFound)
			return
		}
		h.ServeHTTP(w, r)
	}), "/start")
}

// TestCRLRedirects: a CRL URL that redirects is refused unless the policy
// is same_host and the redirect stays on the same scheme and host; failure
// "open" never forgives a refused redirect; no credentials or cookies are
// ever sent.
func TestCRLRedirects(t *testing.T) {
	tests := []struct {
		name   string
		policy Redirects
		other  bool // redirect to another host (localhost instead of 127.0.0.1)
		want   want
	}{
		{"fail/none-other-host", RedirectNone, true, wantRefused(ErrRedirect)},
		{"fail/none-same-host", RedirectNone, false, wantRefused(ErrRedirect)},
		{"fail/same-host-policy-other-host", RedirectSameHost, true, wantRefused(ErrRedirect)},
		{"ok/same-host-policy-same-host", RedirectSameHost, false, wantGood},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var elsewhere seenRequests
			other := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				elsewhere.note(r)
				e.crl.ServeHTTP(w, r)
			}), "/crl")
			target := "/crl"
			if tc.other {
				u, _ := url.Parse(other)
				target = "http://localhost:" + u.Port() + "/crl"
			}
			var seen seenRequests
			start := redirector(t, &seen, target, e.crl)
			u, _ := url.Parse(start)
			u.User = url.UserPassword("admin", "secret")
			e.ca.CRLDistributionPoints = []string{u.String()}
			leaf := e.card(t)
			for _, f := range []Failure{FailClosed, FailOpen} {
				c := e.checker(t, Options{Mode: ModeCRL, Failure: f, FollowRedirects: tc.policy})
				r := c.Check(bg(), leaf, e.ca.Cert)
				tc.want.check(t, r)
			}
			if elsewhere.count() != 0 {
				t.Fatalf("the other host was asked %d times", elsewhere.count())
			}
			seen.mu.Lock()
			defer seen.mu.Unlock()
			for i := range seen.paths {
				if seen.auth[i] != "" || seen.cookies[i] != "" {
					t.Fatalf("request %d to %s carried Authorization %q, Cookie %q", i, seen.paths[i], seen.auth[i], seen.cookies[i])
				}
			}
		})
	}
}

// TestOCSPRedirectRefused: a responder that redirects is not followed.
func TestOCSPRedirectRefused(t *testing.T) {
	e := newEnv(t)
	var elsewhere seenRequests
	other := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.note(r)
		e.ocsp.ServeHTTP(w, r)
	}), "/ocsp")
	u, _ := url.Parse(other)
	var seen seenRequests
	start := redirector(t, &seen, "http://localhost:"+u.Port()+"/ocsp", e.ocsp)
	c := e.checker(t, Options{Mode: ModeOCSP, Failure: FailOpen, OCSPURL: start})
	wantRefused(ErrRedirect).check(t, c.Check(bg(), e.card(t), e.ca.Cert))
	if elsewhere.count() != 0 {
		t.Fatal("the redirect was followed")
	}
}

// TestOCSPOversized: an answer larger than the OCSP cap is refused, under
// failure "open" too, without reading it all.
func TestOCSPOversized(t *testing.T) {
	e := newEnv(t)
	big := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(bytes.Repeat([]byte{0x30}, maxOCSPResponse+1))
	}), "/ocsp")
	c := e.checker(t, Options{Mode: ModeOCSP, Failure: FailOpen, OCSPURL: big})
	wantRefused(ErrTooLarge).check(t, c.Check(bg(), e.card(t), e.ca.Cert))
}

func TestRequestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://crl.example.it/ca.crl", "http://crl.example.it/ca.crl"},
		{"HTTPS://user:pw@crl.example.it/ca.crl", "https://crl.example.it/ca.crl"},
		{"ldap://crl.example.it/cn=CA", ""},
		{"file:///etc/passwd", ""},
		{"http:/ca.crl", ""},
		{"http:opaque", ""},
		{"http://[::1", ""},
	}
	for _, tc := range tests {
		got, err := requestURL(tc.in)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("requestURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestCertificateURLWithCredentials: a distribution point with userinfo is
// asked without it.
func TestCertificateURLWithCredentials(t *testing.T) {
	e := newEnv(t)
	var seen seenRequests
	u, _ := url.Parse(serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.note(r)
		e.crl.ServeHTTP(w, r)
	}), "/crl"))
	u.User = url.UserPassword("admin", "secret")
	e.ca.CRLDistributionPoints = []string{u.String()}
	leaf := e.card(t)
	wantGood.check(t, e.checker(t, Options{Mode: ModeCRL}).Check(bg(), leaf, e.ca.Cert))
	if seen.count() != 1 || seen.auth[0] != "" || strings.Contains(seen.paths[0], "admin") {
		t.Fatalf("requests %d, Authorization %q", seen.count(), seen.auth)
	}
}
