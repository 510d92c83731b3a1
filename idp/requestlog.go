package idp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyRemoteIP
)

// WithRequestInfo tags each request's context with a fresh request id and
// the peer's IP address, which LogHandler adds to every record logged with
// that context. The id is echoed in the X-Request-Id response header so a
// citizen can quote it to the help desk.
func WithRequestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		ip, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			ip = r.RemoteAddr
		}
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		ctx = context.WithValue(ctx, keyRemoteIP, ip)
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// RequestID returns the request id stored by WithRequestInfo, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

// LogHandler wraps a slog.Handler to add request_id and remote_ip from the
// record's context.
type LogHandler struct{ slog.Handler }

// Handle adds the request attributes and passes the record on.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(keyRequestID).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	if ip, ok := ctx.Value(keyRemoteIP).(string); ok {
		r.AddAttrs(slog.String("remote_ip", ip))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around derived handlers.
func (h LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(as)}
}

// WithGroup keeps the wrapper around derived handlers.
func (h LogHandler) WithGroup(name string) slog.Handler {
	return LogHandler{h.Handler.WithGroup(name)}
}
