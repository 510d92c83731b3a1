package revocation

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Redirects says which HTTP redirects the CRL and OCSP client follows.
type Redirects string

// The redirect policies.
const (
	// RedirectNone follows no redirect (the default): a CRL or responder
	// URL names where the answer is, and a redirect is refused.
	RedirectNone Redirects = "none"
	// RedirectSameHost follows up to maxRedirects redirects that keep the
	// scheme and the host:port of the URL first asked.
	RedirectSameHost Redirects = "same_host"
)

// maxRedirects bounds the redirects RedirectSameHost follows.
const maxRedirects = 3

// ErrRedirect: a CRL or OCSP URL answered with a redirect the policy
// refuses. It is not a network failure: failure "open" does not forgive it.
var ErrRedirect = errors.New("redirect refused")

// ErrBadURL: a CRL or OCSP URL that is not an absolute http(s) URL with a
// host.
var ErrBadURL = errors.New("URL not http(s) with a host")

// safeClient returns a copy of base (or of a new client) that keeps no
// cookies and follows redirects only as policy allows; the transport is
// base's.
func safeClient(base *http.Client, policy Redirects) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	c.Jar = nil
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		return checkRedirect(policy, req, via)
	}
	return c
}

// checkRedirect refuses a redirect the policy does not allow, and any that
// carries credentials in its URL.
func checkRedirect(policy Redirects, req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case policy != RedirectSameHost:
		return fmt.Errorf("%w: %s redirects to %s (revocation.follow_redirects is none)", ErrRedirect, first.Redacted(), req.URL.Redacted())
	case len(via) > maxRedirects:
		return fmt.Errorf("%w: %s: more than %d redirects", ErrRedirect, first.Redacted(), maxRedirects)
	case req.URL.User != nil:
		return fmt.Errorf("%w: %s redirects to a URL with credentials", ErrRedirect, first.Redacted())
	case req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host):
		return fmt.Errorf("%w: %s redirects to another scheme or host: %s", ErrRedirect, first.Redacted(), req.URL.Redacted())
	}
	req.Header.Del("Authorization")
	req.Header.Del("Cookie")
	return nil
}

// requestURL checks that raw is an absolute http(s) URL with a host and
// returns it without userinfo: credentials are never sent to a CRL or OCSP
// server, whatever a certificate or the configuration says.
func requestURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadURL, raw, err)
	}
	if s := strings.ToLower(u.Scheme); (s != "http" && s != "https") || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%w: %q", ErrBadURL, u.Redacted())
	}
	u.User = nil
	return u.String(), nil
}

// httpFailure classifies an error of http.Client.Do: a refused redirect as
// itself, anything else as the network.
func httpFailure(err error) error {
	if errors.Is(err, ErrRedirect) {
		return err
	}
	return unreachable("%v", err)
}
