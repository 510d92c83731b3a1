package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The bare baseline of the keep-alive workloads, on a second listener of
// the baseline server: TLS 1.2 with the same ECDSA P-256 server
// certificate and no client certificate, as cnsgate's public listener.
//
//   - POST /token: what a token endpoint does at the least: the form read,
//     the client's secret checked from basic auth (constant time), one
//     signature with the token signing key over claims naming the code,
//     and a JSON answer with the signed token.
//   - GET /userinfo and POST /introspect: the request read (a bearer
//     token; a form and basic auth) and a small JSON answer, no signature:
//     what the machine allows an HTTPS endpoint on kept-alive connections.

// publicBaseline is the handler of the baseline's public listener.
func publicBaseline(sign func([]byte) ([]byte, error), alg, clientID, secret string) http.Handler {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","typ":"JWT"}`))
	authOK := func(r *http.Request) bool {
		id, sec, ok := r.BasicAuth()
		id, _ = url.QueryUnescape(id) // RFC 6749 2.3.1, as the client sends them
		sec, _ = url.QueryUnescape(sec)
		return ok && id == clientID && subtle.ConstantTimeCompare([]byte(sec), []byte(secret)) == 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("code") == "" {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		if !authOK(r) {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		claims, _ := json.Marshal(map[string]any{"iss": "baseline", "sub": "card", "aud": clientID,
			"nonce": r.PostForm.Get("code"), "exp": time.Now().Add(5 * time.Minute).Unix()})
		input := header + "." + base64.RawURLEncoding.EncodeToString(claims)
		sum := sha256.Sum256([]byte(input))
		sig, err := sign(sum[:])
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var at [32]byte
		_, _ = rand.Read(at[:])
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": base64.RawURLEncoding.EncodeToString(at[:]),
			"token_type": "Bearer", "expires_in": 300, "id_token": input + "." + base64.RawURLEncoding.EncodeToString(sig)})
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sub": "card", "token": len(tok)})
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("token") == "" || !authOK(r) {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "client_id": clientID, "sub": "card"})
	})
	return mux
}

// servePublicBaseline serves publicBaseline on addr until the process is
// killed.
func servePublicBaseline(addr string, pair tls.Certificate, h http.Handler) error {
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	ln, err := tls.Listen("tcp", addr, cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// okBody reads resp's body and fails unless it answered 200.
func okBody(resp *http.Response, what string) ([]byte, error) {
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %d: %.200s", what, resp.StatusCode, raw)
	}
	return raw, nil
}
