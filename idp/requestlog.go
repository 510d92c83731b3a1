package idp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/cnsgate/cnsgate/x509cns"
)

type ctxKey int

// keyRequestInfo finds the *requestInfo of a request's context.
const keyRequestInfo ctxKey = 0

// requestInfo is the context WithRequestInfo gives a request: its parent,
// with the request id and the client's address. One allocation per
// request holds them all, the X-Request-Id header's value included.
type requestInfo struct {
	context.Context
	id, ip string
	header [1]string // the X-Request-Id value, id
}

// Value answers keyRequestInfo with the requestInfo itself, and any other
// key from the parent.
func (c *requestInfo) Value(key any) any {
	if key == keyRequestInfo {
		return c
	}
	return c.Context.Value(key)
}

// infoOf returns the nearest requestInfo of ctx, or nil.
func infoOf(ctx context.Context) *requestInfo {
	c, _ := ctx.Value(keyRequestInfo).(*requestInfo)
	return c
}

// remoteIP returns the client address stored by WithRequestInfo, or "".
func remoteIP(ctx context.Context) string {
	if c := infoOf(ctx); c != nil {
		return c.ip
	}
	return ""
}

// WithRequestInfo tags each request's context with a fresh request id and
// the peer's IP address, which LogHandler adds to every record logged with
// that context. The id is echoed in the X-Request-Id response header so a
// citizen can quote it to the help desk. Behind a proxy, use
// FrontDoor.RequestInfo, which records the client's address instead.
func WithRequestInfo(next http.Handler) http.Handler {
	return withRequestInfo(next, func(_ context.Context, r *http.Request) string { return peerIP(r.RemoteAddr) })
}

// ForwardedCounter is the optional ability of a Recorder to count forwarded
// headers of trusted proxies that could not be read in full.
type ForwardedCounter interface{ ForwardedInvalid() }

// RequestInfo is WithRequestInfo with the client's address as the trusted
// proxies report it (TrustedProxies.ClientIP): the audit trail and the log
// name the citizen's address, not the proxy's. A forwarded header that does
// not read is logged and counted, and the address falls back to the
// nearest hop that could be read.
func (f *FrontDoor) RequestInfo(next http.Handler) http.Handler {
	return withRequestInfo(next, func(ctx context.Context, r *http.Request) string {
		ip, err := f.o.Proxies.ClientIP(r)
		if err != nil {
			f.o.Logger.WarnContext(ctx, "forwarded client address not read", "peer", r.RemoteAddr, "err", err)
			if c, ok := f.o.Recorder.(ForwardedCounter); ok {
				c.ForwardedInvalid()
			}
		}
		return ip
	})
}

// withRequestInfo is the one wrapper of every listener's requests, so it
// allocates as little as it can: one requestInfo, one copy of the request.
// clientIP logs with ctx, which holds the request id already.
func withRequestInfo(next http.Handler, clientIP func(context.Context, *http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		var id [16]byte
		hex.Encode(id[:], b[:])
		c := &requestInfo{Context: r.Context(), id: string(id[:])}
		c.header[0] = c.id
		c.ip = clientIP(c, r)
		// The header's canonical name, set as Header.Set would.
		w.Header()["X-Request-Id"] = c.header[:]
		next.ServeHTTP(w, r.WithContext(c))
	})
}

// RequestID returns the request id stored by WithRequestInfo, or "".
func RequestID(ctx context.Context) string {
	if c := infoOf(ctx); c != nil {
		return c.id
	}
	return ""
}

// LogHandler wraps a slog.Handler to add request_id and remote_ip from the
// record's context, and masks every fiscal code in the message and the
// string values (errors and Stringers included, groups and LogValuers
// resolved) with x509cns.MaskFiscalCodes.
//
// The sources log masked codes already (LogValue methods, x509cns
// rejections); this is the safety net for text nobody here builds: a
// library's error quoting a certificate subject, a relying party's
// answer, a request parameter. The audit trail's table keeps full codes
// (it never passes through a logger), and the audit log line shows them
// only with audit.reveal_fiscal_code, as a value the net leaves alone.
type LogHandler struct{ slog.Handler }

// Handle masks the record, adds the request attributes and passes it on.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, x509cns.MaskFiscalCodes(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a))
		return true
	})
	if c := infoOf(ctx); c != nil {
		out.AddAttrs(slog.String("request_id", c.id))
		if c.ip != "" { // empty while the address is being read (its own warning names the peer)
			out.AddAttrs(slog.String("remote_ip", c.ip))
		}
	}
	return h.Handler.Handle(ctx, out)
}

// WithAttrs keeps the wrapper around derived handlers, their attributes
// masked.
func (h LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(as))
	for i, a := range as {
		masked[i] = maskAttr(a)
	}
	return LogHandler{h.Handler.WithAttrs(masked)}
}

// WithGroup keeps the wrapper around derived handlers.
func (h LogHandler) WithGroup(name string) slog.Handler {
	return LogHandler{h.Handler.WithGroup(name)}
}

// revealedFiscalCode is a fiscal code logged in full on purpose (the audit
// line with audit.reveal_fiscal_code): LogHandler leaves it alone.
type revealedFiscalCode string

// maskAttr returns a with the fiscal codes in its text masked.
func maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, x509cns.MaskFiscalCodes(v.String()))
	case slog.KindGroup:
		group := v.Group()
		out := make([]slog.Attr, len(group))
		for i, g := range group {
			out[i] = maskAttr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case revealedFiscalCode:
			return slog.Attr{Key: a.Key, Value: v}
		case error:
			return slog.String(a.Key, x509cns.MaskFiscalCodes(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, x509cns.MaskFiscalCodes(x.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
