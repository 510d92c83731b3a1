package oidc

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// CORS for the endpoints a browser application (a single-page app, a
// public client with PKCE) calls from its own origin: discovery, /jwks,
// /token, /userinfo, /revoke and /introspect. An origin is allowed when a
// client lists it in AllowedOrigins or, listing none, has a redirect URI
// there. An allowed origin is echoed, never "*", and no credentials
// (cookies, TLS client certificates) are ever allowed: these endpoints
// take a client's own credentials in the request. Any other origin gets
// no CORS header at all, so the browser keeps the answer from its script.

const (
	corsAllowHeaders = "Authorization, Content-Type"
	corsMaxAge       = "600"
)

// corsOrigins returns the allowed origins of the clients, normalised.
func corsOrigins(list []Client) map[string]bool {
	out := map[string]bool{}
	for _, c := range list {
		origins := c.AllowedOrigins
		if len(origins) == 0 {
			origins = c.RedirectURIs
		}
		for _, o := range origins {
			if n, ok := normalOrigin(o); ok {
				out[n] = true
			}
		}
	}
	return out
}

// normalOrigin is the origin of an http(s) URL as browsers write it in
// the Origin header: lower-case scheme and host, the default port left
// out. ok is false for anything else (a custom scheme, "null", "*").
func normalOrigin(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		return scheme + "://" + host, true
	}
	return scheme + "://" + host + ":" + port, true
}

// corsOrigin returns the request's Origin when it is allowed, "" otherwise;
// a refused origin is logged and counted against endpoint.
func (p *Provider) corsOrigin(r *http.Request, endpoint string) string {
	o := r.Header.Get("Origin")
	if o == "" {
		return ""
	}
	n, ok := normalOrigin(o)
	if !ok || !p.origins[n] || n != o {
		p.logger.InfoContext(r.Context(), "oidc cross-origin request from an origin no client allows", "origin", o, "endpoint", endpoint)
		if c, ok := p.recorder.(CORSRecorder); ok {
			c.CORSRefused(endpoint)
		}
		return ""
	}
	return o
}

// withCORS answers an allowed origin's request to endpoint with the CORS
// headers.
func (p *Provider) withCORS(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		if o := p.corsOrigin(r, endpoint); o != "" {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		}
		h(w, r)
	}
}

// preflight answers a CORS preflight (OPTIONS) for an endpoint taking
// methods: 204 with what an allowed origin may send, 403 without any CORS
// header otherwise.
func (p *Provider) preflight(endpoint string, methods ...string) http.HandlerFunc {
	allow := strings.Join(methods, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		w.Header().Add("Vary", "Access-Control-Request-Method")
		w.Header().Add("Vary", "Access-Control-Request-Headers")
		o := p.corsOrigin(r, endpoint)
		method := r.Header.Get("Access-Control-Request-Method")
		if o == "" || !slices.Contains(methods, method) {
			if o != "" {
				p.logger.InfoContext(r.Context(), "oidc preflight refused", "origin", o, "method", method, "endpoint", endpoint)
				if c, ok := p.recorder.(CORSRecorder); ok {
					c.CORSRefused(endpoint)
				}
			}
			http.Error(w, "cross-origin request not allowed", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Allow-Methods", allow)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		w.WriteHeader(http.StatusNoContent)
	}
}
