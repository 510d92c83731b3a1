package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/saml"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (YAML)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" {
		fmt.Fprintln(stderr, "cnsgate serve: --config FILE is required")
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate serve: %v\n", err)
		return 1
	}
	logger := newLogger(cfg.Log, stderr)
	if err := serve(ctx, cfg, *path, logger, nil, serveExtras{}); err != nil {
		logger.Error("cnsgate stopped", "err", err)
		return 1
	}
	return 0
}

// newLogger builds the process logger: JSON (or text) on w, with
// request_id and remote_ip taken from each record's context.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if c.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(idp.LogHandler{Handler: h})
}

// listeners are the three sockets, bound before serving so that a port
// conflict is reported at start and tests can listen on port 0.
type listeners struct{ public, cns, admin net.Listener }

// bound reports the actual addresses, for the demo's banner and for tests.
type bound struct{ Public, CNS, Admin string }

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
	return &l, nil
}

// serveExtras are what the demo adds to a gateway: more handlers on the
// admin listener (its CA's CRL and OCSP), and more roots trusted by
// cnsgate's outgoing HTTPS calls (its own TLS CA, which signs the example
// relying parties' certificates).
type serveExtras struct {
	admin map[string]http.Handler
	roots []*x509.Certificate
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

// serve runs cnsgate until ctx ends. ready, when not nil, receives the
// bound addresses once every listener accepts connections.
func serve(ctx context.Context, cfg *config.Config, cfgPath string, logger *slog.Logger, ready func(bound), extras serveExtras) error {
	ts, err := loadTrust(cfg.Trust)
	if err == nil {
		err = ts.requireUsable()
	}
	if err != nil {
		return err
	}
	for _, r := range ts.reports {
		logger.Info("trust store loaded", "source", r.Source, "summary", r.Summary())
	}
	serverCert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	var cleanup closers
	defer cleanup.Close()
	backend, err := buildSessions(cfg.Sessions)
	if err != nil {
		return err
	}
	cleanup = append(cleanup, backend.close)
	reg, err := openRegistry(ctx, cfg.Registry, logger)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	cleanup = append(cleanup, reg.Close)

	proxies, err := idp.NewTrustedProxies(cfg.Proxy.TrustedCIDRs, idp.ProxyHeader(cfg.Proxy.Header))
	if err != nil {
		return err
	}
	var trustNow atomic.Pointer[trustSet]
	trustNow.Store(ts)
	m := metrics.New(metrics.Options{Version: version, Issuers: metrics.IssuerLabels(ts.store.Anchors()),
		Clients: clientIDs(cfg), ServiceProviders: spEntityIDs(cfg)})

	// svc is set below; a CRL that newly revokes cards ends their sessions.
	var svc *idp.Service
	var gate idp.RevocationChecker
	var chk *revocation.Checker
	if cfg.Revocation.Mode == config.RevocationNone {
		logger.Warn("revocation checking is off (revocation.mode: none): revoked cards can log in")
	} else {
		opts := revocationOptions(cfg.Revocation, currentTrust{&trustNow}, logger)
		opts.Recorder = auditedRevocation{Recorder: m, audit: func(issuer string) {
			svc.Audit(context.Background(), registry.Event{Kind: registry.KindCRLRefreshFailure,
				Outcome: registry.OutcomeFailure, Reason: string(x509cns.ReasonRevocationUnavailable), Issuer: issuer})
		}}
		opts.OnRevoked = func(ev revocation.RevokedEvent) {
			go svc.CardsRevoked(context.Background(), ev.IssuerName, serialsHex(ev))
		}
		c, err := revocation.New(opts)
		if err != nil {
			return fmt.Errorf("revocation: %w", err)
		}
		chk = c
		cleanup = append(cleanup, func() error { chk.Close(); return nil })
		gate = revocationGate{c: chk, logger: logger}
	}
	front := idp.NewFrontDoor(ts.validator, idp.FrontDoorOptions{Proxies: proxies, Revocation: gate, Recorder: m, Logger: logger})

	cnsTLS := &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   cfg.TLS.CNSMaxTLSVersion(),
		// Request any certificate in the initial handshake; every request
		// is then judged by the front door from its own connection state.
		ClientAuth: tls.RequestClientCert,
	}
	if cfg.TLS.CNSClientCANames {
		// The pool is only used to advertise names: with RequestClientCert
		// crypto/tls does not verify against it. Re-read on every handshake
		// so that a SIGHUP reload is advertised at once.
		cnsTLS.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := cnsTLS.Clone()
			c.GetConfigForClient = nil
			pool := x509.NewCertPool()
			for _, a := range trustNow.Load().store.Anchors() {
				pool.AddCert(a)
			}
			c.ClientCAs = pool
			return c, nil
		}
	}
	publicTLS := &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}

	l, err := listen(cfg)
	if err != nil {
		return err
	}
	pages, err := web.New()
	if err != nil {
		return err
	}
	svc = idp.NewService(idp.Deps{
		Pages: pages, Front: front, Sessions: backend.store, Ephemeral: backend.ephemeral,
		Registry: reg, Auditor: reg, Recorder: m, Logger: logger,
	}, idp.Options{
		AuditSink: string(cfg.Audit.Sink), AuditRevealFiscalCode: cfg.Audit.RevealFiscalCode,
		Issuer: cfg.Issuer, CNSOrigin: cfg.CNSOrigin,
		AllowlistOnly: cfg.Registration.Mode == config.RegistrationAllowlist,
		IdleTimeout:   cfg.Sessions.IdleTimeout.Std(), AbsoluteTimeout: cfg.Sessions.AbsoluteTimeout.Std(),
		Services: serviceLinks(cfg),
	})
	var stopping atomic.Bool
	checks := map[string]idp.ReadinessCheck{
		metrics.DependencyShutdown: func(context.Context) error {
			if stopping.Load() {
				return errors.New("shutting down")
			}
			return nil
		},
		metrics.DependencyTrustStore: func(context.Context) error {
			return trustNow.Load().requireUsable()
		},
		metrics.DependencySessions: backend.store.Ping,
		metrics.DependencyRegistry: reg.Ping,
	}
	admin := idp.AdminHandler(checks)
	admin.Handle("GET /metrics", m.Handler())
	go m.WatchReadiness(ctx, 15*time.Second, checks)
	go metrics.PurgeLoop(ctx, reg, cfg.Audit.Retention.Std(), time.Hour, logger)
	public := svc.PublicHandler()
	outbound, err := outboundClient(extras.roots)
	if err != nil {
		return err
	}
	if len(cfg.OIDC.Clients) > 0 {
		op, err := oidc.New(svc, backend.store, backend.ephemeral, oidcOptions(cfg.OIDC, oidc.Options{Logger: logger, Recorder: m, HTTPClient: outbound}))
		if err != nil {
			return fmt.Errorf("oidc: %w", err)
		}
		op.Mount(public)
		// Back-channel logout deliveries still running get a few seconds.
		cleanup = append(cleanup, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return op.Close(ctx)
		})
	}
	if cfg.SAML.CertFile != "" {
		sp, err := saml.New(svc, backend.store, backend.ephemeral, samlOptions(cfg.SAML, saml.Options{
			Logger: logger.With("component", "saml"), Recorder: m, Pages: pages,
			HTTPClient: outbound,
		}))
		if err != nil {
			return fmt.Errorf("saml: %w", err)
		}
		sp.Mount(public)
		cleanup = append(cleanup, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return sp.Close(ctx)
		})
	}
	for path, h := range extras.admin {
		admin.Handle(path, h)
	}
	servers := []*http.Server{
		newServer(idp.WithRequestInfo(m.Instrument(public)), publicTLS, logger),
		newServer(idp.WithRequestInfo(m.Instrument(svc.CNSHandler())), cnsTLS, logger),
		newServer(admin, nil, logger),
	}
	socks := []net.Listener{tls.NewListener(l.public, publicTLS), tls.NewListener(l.cns, cnsTLS), l.admin}
	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func(s *http.Server, ln net.Listener) {
			if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}(s, socks[i])
	}
	// The checker loads CRL files and fetches the configured CRL URLs once
	// the listeners serve: a CRL may be published by this very process (the
	// demo CA). Logins before it finishes fetch what they need themselves.
	if chk != nil {
		if err := chk.Start(ctx); err != nil {
			logger.Error("revocation: some CRL files could not be loaded", "err", err)
		}
	}
	b := bound{Public: l.public.Addr().String(), CNS: l.cns.Addr().String(), Admin: l.admin.Addr().String()}
	logger.Info("cnsgate started", "version", version, "public", b.Public, "cns", b.CNS, "admin", b.Admin,
		"issuer", cfg.Issuer, "cns_origin", cfg.CNSOrigin, "cns_max_tls", cfg.TLS.CNSMaxVersion)
	if ready != nil {
		ready(b)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errc:
			runErr = err
			break loop
		case <-hup:
			ts, err := reloadTrust(cfgPath, cfg, front, &trustNow, logger)
			ev := registry.Event{Kind: registry.KindConfigReload, Outcome: registry.OutcomeSuccess, Detail: []byte(`{"part":"trust"}`)}
			if err != nil {
				ev.Outcome, ev.Reason = registry.OutcomeFailure, "invalid"
				ev.Detail, _ = json.Marshal(map[string]string{"part": "trust", "error": err.Error()})
			} else {
				m.SetIssuers(metrics.IssuerLabels(ts.store.Anchors()))
			}
			svc.Audit(context.Background(), ev)
		}
	}
	logger.Info("cnsgate shutting down")
	stopping.Store(true)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func(s *http.Server) {
			defer wg.Done()
			if err := s.Shutdown(shutdownCtx); err != nil {
				logger.Warn("shutdown", "err", err)
			}
		}(s)
	}
	wg.Wait()
	return runErr
}

// reloadTrust re-reads the trust section of the configuration file and, when
// it loads, swaps the validator; on any error the running one is kept.
func reloadTrust(cfgPath string, running *config.Config, front *idp.FrontDoor, cur *atomic.Pointer[trustSet], logger *slog.Logger) (*trustSet, error) {
	trust := running.Trust
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			logger.Error("trust reload refused: configuration is invalid; keeping the current trust store", "err", err)
			return nil, err
		}
		trust = cfg.Trust
	}
	ts, err := loadTrust(trust)
	if err == nil {
		err = ts.requireUsable()
	}
	if err != nil {
		logger.Error("trust reload failed; keeping the current trust store", "err", err)
		return nil, err
	}
	cur.Store(ts)
	front.SetValidator(ts.validator)
	for _, r := range ts.reports {
		logger.Info("trust store reloaded", "source", r.Source, "summary", r.Summary())
	}
	return ts, nil
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
