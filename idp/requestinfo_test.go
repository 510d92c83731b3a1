package idp_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
)

// TestRequestInfo: every request gets an id of its own, echoed in
// X-Request-Id, and the log records made with its context carry that id
// and the client's address; a context without them carries neither.
func TestRequestInfo(t *testing.T) {
	var logs strings.Builder
	logger := slog.New(idp.LogHandler{Handler: slog.NewTextHandler(&logs, nil)})
	var ids []string
	h := idp.WithRequestInfo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids = append(ids, idp.RequestID(r.Context()))
		logger.InfoContext(r.Context(), "served")
		// Derived contexts still find them.
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		defer cancel()
		if idp.RequestID(ctx) != ids[len(ids)-1] {
			t.Error("a derived context lost the request id")
		}
	}))
	var echoed []string
	for range 3 {
		req := httptest.NewRequest(http.MethodGet, "https://idp.example/", nil)
		req.RemoteAddr = "[::ffff:192.0.2.7]:40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		echoed = append(echoed, w.Header().Get("X-Request-Id"))
	}
	seen := map[string]bool{}
	for i, id := range ids {
		if len(id) != 16 || seen[id] || echoed[i] != id {
			t.Errorf("request %d: id %q, echoed %q, ids %v", i, id, echoed[i], ids)
		}
		seen[id] = true
		if !strings.Contains(logs.String(), "request_id="+id+" remote_ip=192.0.2.7") {
			t.Errorf("the log misses request %d's id and address:\n%s", i, logs.String())
		}
	}
	if idp.RequestID(context.Background()) != "" {
		t.Error("a bare context has a request id")
	}
}

// TestHSTSValueIsolated: the Strict-Transport-Security value every answer
// shares is not changed by a handler that adds to or edits its own.
func TestHSTSValueIsolated(t *testing.T) {
	h := idp.HSTS(time.Hour, false)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/add" {
			w.Header().Add("Strict-Transport-Security", "added")
		}
		if r.URL.Path == "/set" {
			w.Header().Set("Strict-Transport-Security", "max-age=0")
		}
	}))
	for _, path := range []string{"/add", "/set", "/"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://idp.example"+path, nil))
		got := w.Header().Values("Strict-Transport-Security")
		switch path {
		case "/add":
			if len(got) != 2 || got[0] != "max-age=3600" {
				t.Errorf("%s: %q", path, got)
			}
		case "/set":
			if len(got) != 1 || got[0] != "max-age=0" {
				t.Errorf("%s: %q", path, got)
			}
		default:
			if len(got) != 1 || got[0] != "max-age=3600" {
				t.Errorf("%s: %q after the others", path, got)
			}
		}
	}
}
