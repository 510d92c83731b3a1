package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
)

// listeners are the three sockets, bound before serving so that a port
// conflict is reported at start and tests can listen on port 0; and the
// servers that serve them once start runs.
type listeners struct {
	public, cns, admin net.Listener
	console            net.Listener // nil unless listen.console
	servers            []*http.Server
}

// bound reports the actual addresses, for the demo's banner and for tests.
type bound struct{ Public, CNS, Admin, Console string }

func listen(cfg *config.Config) (*listeners, error) {
	var l listeners
	var err error
	if l.public, err = net.Listen("tcp", cfg.Listen.Public); err != nil {
		return nil, fmt.Errorf("listen.public: %w", err)
	}
	if l.cns, err = net.Listen("tcp", cfg.Listen.CNS); err != nil {
		l.public.Close()
		return nil, fmt.Errorf("listen.cns: %w", err)
	}
	if l.admin, err = net.Listen("tcp", cfg.Listen.Admin); err != nil {
		l.public.Close()
		l.cns.Close()
		return nil, fmt.Errorf("listen.admin: %w", err)
	}
	if cfg.ConsoleOn() {
		if l.console, err = net.Listen("tcp", cfg.Listen.Console); err != nil {
			l.public.Close()
			l.cns.Close()
			l.admin.Close()
			return nil, fmt.Errorf("listen.console: %w", err)
		}
	}
	return &l, nil
}

// buildListeners binds the three sockets.
func (g *gateway) buildListeners(context.Context) error {
	l, err := listen(g.cfg)
	if err != nil {
		return err
	}
	g.net = l
	return nil
}

// cnsTLS is the card listener's TLS: it requests any certificate in the
// initial handshake, and every request is then judged by the front door
// from its own connection state.
//
// Every login must prove possession of the card, so every connection is a
// full handshake in which the card signs: no session resumption. A resumed
// session (TLS 1.2 ticket or TLS 1.3 PSK) brings back the certificate of an
// earlier handshake without asking the card anything, which on a shared PC
// logs the next person in as the previous citizen after "Esci". In
// crypto/tls, SessionTicketsDisabled turns off both (the server keeps no
// session-ID cache), and clones made by GetConfigForClient inherit it.
func (g *gateway) cnsTLS() *tls.Config {
	c := &tls.Config{
		Certificates:           []tls.Certificate{g.serverCert},
		MinVersion:             tls.VersionTLS12,
		MaxVersion:             g.cfg.TLS.CNSMaxTLSVersion(),
		ClientAuth:             tls.RequestClientCert,
		SessionTicketsDisabled: true,
	}
	if g.cfg.TLS.CNSClientCANames {
		// The pool is only used to advertise names: with RequestClientCert
		// crypto/tls does not verify against it. Re-read on every handshake
		// so that a SIGHUP reload is advertised at once.
		c.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cc := c.Clone()
			cc.GetConfigForClient = nil
			pool := x509.NewCertPool()
			for _, a := range g.trust.Load().store.Anchors() {
				pool.AddCert(a)
			}
			cc.ClientCAs = pool
			return cc, nil
		}
	}
	return c
}

// start serves the three listeners and then lets the revocation checker
// load its CRLs: a CRL may be published by this very process (the demo
// CA). Logins before it finishes fetch what they need themselves.
func (g *gateway) start(ctx context.Context) bound {
	publicTLS := &tls.Config{Certificates: []tls.Certificate{g.serverCert}, MinVersion: tls.VersionTLS12}
	cnsTLS := g.cnsTLS()
	l := g.net
	hsts := idp.HSTS(g.cfg.TLS.HSTSMaxAge.Std(), g.cfg.TLS.HSTSIncludeSubdomains)
	cnsServer := newServer(hsts(g.front.RequestInfo(g.metrics.Instrument(g.svc.CNSHandler()))), cnsTLS, g.logger)
	// One request per connection on the card listener: each answer says
	// Connection: close and the connection ends, so the next login is a new
	// handshake in which the card signs again (see cnsTLS).
	cnsServer.SetKeepAlivesEnabled(false)
	l.servers = []*http.Server{
		newServer(hsts(g.front.RequestInfo(g.metrics.Instrument(g.public))), publicTLS, g.logger),
		cnsServer,
		newServer(idp.WithRequestInfo(g.admin), nil, g.logger),
	}
	socks := []net.Listener{tls.NewListener(l.public, publicTLS), tls.NewListener(l.cns, cnsTLS), l.admin}
	if l.console != nil && g.console != nil {
		consoleTLS := &tls.Config{Certificates: []tls.Certificate{g.serverCert}, MinVersion: tls.VersionTLS12}
		l.servers = append(l.servers, newServer(hsts(idp.WithRequestInfo(g.metrics.Instrument(g.console))), consoleTLS, g.logger))
		socks = append(socks, tls.NewListener(l.console, consoleTLS))
	}
	for i, s := range l.servers {
		go func(s *http.Server, ln net.Listener) {
			if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				g.serveErr <- err
			}
		}(s, socks[i])
	}
	if g.checker != nil {
		if err := g.checker.Start(ctx); err != nil {
			g.logger.Error("revocation: some CRL files could not be loaded", "err", err)
		}
	}
	b := bound{Public: l.public.Addr().String(), CNS: l.cns.Addr().String(), Admin: l.admin.Addr().String()}
	if l.console != nil {
		b.Console = l.console.Addr().String()
	}
	return b
}

// close stops accepting connections and waits, up to ctx, for the requests
// in flight; the listeners of a gateway that never started are just closed.
func (l *listeners) close(ctx context.Context) error {
	if len(l.servers) == 0 {
		errs := []error{l.public.Close(), l.cns.Close(), l.admin.Close()}
		if l.console != nil {
			errs = append(errs, l.console.Close())
		}
		return errors.Join(errs...)
	}
	errc := make(chan error, len(l.servers))
	for _, s := range l.servers {
		go func(s *http.Server) { errc <- s.Shutdown(ctx) }(s)
	}
	var errs []error
	for range l.servers {
		errs = append(errs, <-errc)
	}
	return errors.Join(errs...)
}

func newServer(h http.Handler, tlsConf *tls.Config, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// outboundClient is the HTTP client of back-channel logouts and metadata
// fetches: the system roots, plus extra ones when given.
func outboundClient(extra []*x509.Certificate) (*http.Client, error) {
	if len(extra) == 0 {
		return &http.Client{Timeout: 30 * time.Second}, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for _, c := range extra {
		pool.AddCert(c)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}
