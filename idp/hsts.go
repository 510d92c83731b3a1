package idp

import (
	"net/http"
	"strconv"
	"time"
)

// HSTS wraps a listener's handler so that every answer carries
// Strict-Transport-Security with maxAge (whole seconds), and
// includeSubDomains when asked: a browser that has seen cnsgate once never
// again tries it, or the card listener, over plain HTTP. A zero maxAge
// returns next unchanged.
func HSTS(maxAge time.Duration, includeSubdomains bool) func(http.Handler) http.Handler {
	if maxAge <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	v := "max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
	if includeSubdomains {
		v += "; includeSubDomains"
	}
	// One value shared by every answer, as Header.Set would store it under
	// the canonical name, without allocating per request; its capacity of
	// one makes a handler's Header.Add append to a copy, never to it.
	value := []string{v}[:1:1]
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Strict-Transport-Security"] = value
			next.ServeHTTP(w, r)
		})
	}
}
