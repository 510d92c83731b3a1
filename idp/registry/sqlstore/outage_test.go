package sqlstore

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
)

// relay forwards loopback TCP connections to the real PostgreSQL and can cut
// them all, so that a test sees the database vanish and come back without
// stopping a server other tests share.
type relay struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func newRelay(t *testing.T, target string) *relay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); r.setDown(true) })
	go r.serve()
	return r
}

func (r *relay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		down := r.down
		r.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", r.target)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, c, s)
		r.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

// setDown refuses new connections and cuts the open ones, or lets them in.
func (r *relay) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
	if down {
		for _, c := range r.conns {
			c.Close()
		}
		r.conns = nil
	}
}

// TestPostgresOutage: while the database is unreachable Ping and queries
// fail with an error (no panic, no hang); once it is back the same DB
// serves again without being reopened.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	dsn := registrytest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Skip("CNSGATE_TEST_POSTGRES_DSN is not a URL with a host")
	}
	r := newRelay(t, u.Host)
	u.Host = r.ln.Addr().String()
	d, err := Open(ctx, DriverPostgres, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, _, err := d.Register(ctx, card(mario, "a")); err != nil {
		t.Fatal(err)
	}

	r.setDown(true)
	if err := d.Ping(ctx); err == nil {
		t.Error("Ping succeeded while the database was unreachable")
	}
	if _, err := d.Authorize(ctx, mario, fp("a")); err == nil || errors.Is(err, registry.ErrNotRegistered) {
		t.Errorf("Authorize while down: %v, want a connection error", err)
	}

	r.setDown(false)
	if err := d.Ping(ctx); err != nil {
		t.Errorf("Ping after the database came back: %v", err)
	}
	if _, err := d.Authorize(ctx, mario, fp("a")); err != nil {
		t.Errorf("Authorize after the database came back: %v", err)
	}
}
