package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/auditsyslog"
	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
	"github.com/cnsgate/cnsgate/x509cns/tslsync"
)

// gateway is one cnsgate process: the parts serve builds, each by a build
// step of its own, and what shutdown must stop, drain and close.
type gateway struct {
	cfg     *config.Config
	cfgPath string
	logger  *slog.Logger
	extras  serveExtras

	trust      atomic.Pointer[trustSet]
	trustMu    sync.Mutex   // one trust swap at a time; guards trustCfg
	trustCfg   config.Trust // the trust section the store in use was built from
	syncer     *tslsync.Syncer
	tslRec     *tslRecorder
	serverCert tls.Certificate
	sessions   *sessionBackend
	registry   *sqlstore.DB
	syslog     *auditsyslog.Sink // nil unless audit.syslog.address
	metrics    *metrics.Metrics
	checker    *revocation.Checker // nil when revocation.mode is none
	gate       idp.RevocationChecker
	front      *idp.FrontDoor
	pages      *web.Pages
	svc        *idp.Service
	public     *http.ServeMux
	admin      *http.ServeMux
	console    http.Handler // nil unless listen.console (console.go)
	// consoleSecret is the console client's secret, drawn at start.
	consoleSecret string
	protocols     *protocols
	net           *listeners

	// stopping turns /readyz false at the start of shutdown.
	stopping atomic.Bool
	// background counts the loops (readiness watch, audit purge) and the
	// tasks (ending the sessions of newly revoked cards) that use the
	// stores: shutdown ends the loops at once, lets the tasks finish, and
	// waits for both before it closes the stores.
	background sync.WaitGroup
	loopsCtx   context.Context
	stopLoops  context.CancelFunc
	tasksCtx   context.Context
	stopTasks  context.CancelFunc
	serveErr   chan error
}

func newGateway(cfg *config.Config, cfgPath string, logger *slog.Logger, extras serveExtras) *gateway {
	g := &gateway{cfg: cfg, cfgPath: cfgPath, logger: logger, extras: extras, serveErr: make(chan error, 3)}
	g.loopsCtx, g.stopLoops = context.WithCancel(context.Background())
	g.tasksCtx, g.stopTasks = context.WithCancel(context.Background())
	return g
}

// goLoop runs a loop until shutdown begins; goTask runs a task that
// shutdown lets finish. Both are counted, so that the stores they use close
// after them.
func (g *gateway) goLoop(f func(ctx context.Context)) { g.goBackground(g.loopsCtx, f) }
func (g *gateway) goTask(f func(ctx context.Context)) { g.goBackground(g.tasksCtx, f) }

func (g *gateway) goBackground(ctx context.Context, f func(ctx context.Context)) {
	g.background.Add(1)
	go func() {
		defer g.background.Done()
		f(ctx)
	}()
}

func (g *gateway) buildTrust(context.Context) error {
	ts, err := loadTrustWith(g.cfg.Trust, g.tslList())
	if err == nil {
		err = ts.requireUsable()
	}
	if err != nil {
		return err
	}
	for _, r := range ts.reports {
		g.logger.Info("trust store loaded", "source", r.Source, "summary", r.Summary())
	}
	g.trust.Store(ts)
	g.trustCfg = g.cfg.Trust
	g.serverCert, err = tls.LoadX509KeyPair(g.cfg.TLS.CertFile, g.cfg.TLS.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	return nil
}

func (g *gateway) buildSessions(context.Context) error {
	b, err := buildSessions(g.cfg.Sessions, g.cfg.Limits)
	if err != nil {
		return err
	}
	g.sessions = b
	return nil
}

func (g *gateway) buildRegistry(ctx context.Context) error {
	opts := []sqlstore.Option{sqlstore.WithBatchObserver(g.metrics)}
	if f := g.cfg.Audit.CheckpointKeyFile; f != "" {
		key, err := sqlstore.LoadCheckpointKey(f)
		if err != nil {
			return fmt.Errorf("audit: checkpoint_key_file: %w", err)
		}
		opts = append(opts, sqlstore.WithCheckpointKey(key))
	}
	reg, err := openRegistry(ctx, g.cfg.Registry, g.logger, opts...)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	g.registry = reg
	return nil
}

func (g *gateway) buildMetrics(context.Context) error {
	g.metrics = metrics.New(metrics.Options{Version: version, Issuers: metrics.IssuerLabels(g.trust.Load().store.Anchors()),
		Clients: clientIDs(g.cfg), ServiceProviders: spEntityIDs(g.cfg), TSL: g.syncer != nil})
	g.tslRec.attach(g.metrics)
	return nil
}

// buildRevocation makes the CRL/OCSP checker. Its refusals reach the audit
// trail and a CRL that newly revokes cards ends their sessions; both go
// through the login service, built after it.
func (g *gateway) buildRevocation(context.Context) error {
	if g.cfg.Revocation.Mode == config.RevocationNone {
		g.logger.Warn("revocation checking is off (revocation.mode: none): revoked cards can log in")
		return nil
	}
	opts := revocationOptions(g.cfg.Revocation, currentTrust{&g.trust}, g.logger)
	opts.Recorder = auditedRevocation{Recorder: g.metrics, audit: func(issuer string) {
		g.svc.Audit(context.Background(), registry.Event{Kind: registry.KindCRLRefreshFailure,
			Outcome: registry.OutcomeFailure, Reason: string(x509cns.ReasonRevocationUnavailable), Issuer: issuer})
	}}
	opts.OnRevoked = func(ev revocation.RevokedEvent) {
		if ev.First {
			// The issuer's first CRL (at start): cards revoked while
			// cnsgate was down still hold sessions.
			g.goTask(func(ctx context.Context) { g.svc.SweepRevoked(ctx, ev.IssuerName) })
			return
		}
		serials := serialsHex(ev)
		g.goTask(func(ctx context.Context) { g.svc.CardsRevoked(ctx, ev.IssuerName, serials) })
	}
	c, err := revocation.New(opts)
	if err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	g.checker = c
	g.gate = revocationGate{c: c, logger: g.logger}
	return nil
}

func (g *gateway) buildLoginService(context.Context) error {
	proxies, err := idp.NewTrustedProxies(g.cfg.Proxy.TrustedCIDRs, idp.ProxyHeader(g.cfg.Proxy.Header))
	if err != nil {
		return err
	}
	proxies.Forwarded = idp.ForwardedHeader(g.cfg.Proxy.ForwardedHeader)
	proxies.MaxIntermediates = g.cfg.Trust.MaxIntermediates
	g.front = idp.NewFrontDoor(g.trust.Load().validator, idp.FrontDoorOptions{Proxies: proxies, Revocation: g.gate, Recorder: g.metrics, Logger: g.logger})
	site, err := siteOf(g.cfg)
	if err != nil {
		return err
	}
	if g.pages, err = web.NewSite(site); err != nil {
		return err
	}
	deps := idp.Deps{
		Pages: g.pages, Front: g.front, Sessions: g.sessions.store, Ephemeral: g.sessions.ephemeral,
		Registry: g.registry, Auditor: g.registry, Recorder: g.metrics, Logger: g.logger,
	}
	if err := g.buildAuditSyslog(); err != nil {
		return err
	}
	if g.syslog != nil {
		deps.AuditForward = g.syslog
	}
	if g.checker != nil {
		deps.Revocation = revocationCache{g.checker}
	}
	g.svc = idp.NewService(deps, loginOptions(g.cfg))
	g.public = g.svc.PublicHandler()
	return nil
}

// buildProtocols mounts the OpenID Provider and the SAML IdP on the public
// mux, when configured; both tell their relying parties of ended sessions
// through the login service's logout-delivery engine.
func (g *gateway) buildProtocols(context.Context) error {
	outbound, err := outboundClient(g.extras.roots)
	if err != nil {
		return err
	}
	if g.cfg.ConsoleOn() {
		if g.consoleSecret, err = newConsoleSecret(); err != nil {
			return err
		}
	}
	p, err := newProtocols(g.cfg, g.svc, g.sessions, protocolDeps{
		logger: g.logger, oidcRecorder: g.metrics, fedRecorder: g.metrics, samlRecorder: g.metrics, pages: g.pages, outbound: outbound,
		consoleSecret: g.consoleSecret,
	})
	if err != nil {
		return err
	}
	g.protocols = p
	p.mount(g.public)
	return nil
}

// buildAdmin makes the admin listener's handler: liveness, readiness (false
// from the first moment of shutdown), metrics, the admin API when
// admin.token_file is set, and the demo's extras; and
// starts the loops that watch readiness and purge old audit events.
func (g *gateway) buildAdmin(context.Context) error {
	checks := map[string]idp.ReadinessCheck{
		metrics.DependencyShutdown: func(context.Context) error {
			if g.stopping.Load() {
				return errors.New("shutting down")
			}
			return nil
		},
		metrics.DependencyTrustStore: func(context.Context) error {
			return g.trust.Load().requireUsable()
		},
		metrics.DependencySessions: g.sessions.store.Ping,
		metrics.DependencyRegistry: g.registry.Ping,
	}
	g.admin = idp.AdminHandler(checks)
	g.admin.Handle("GET /metrics", g.metrics.Handler())
	if tok := g.cfg.Admin.Token.Value(); tok != "" {
		var opts []idp.AdminOption
		if g.checker != nil {
			opts = append(opts, idp.WithRevocationStatus(revocationStatus{g.checker}))
		}
		api, err := g.svc.AdminAPI(tok, g.registry, opts...)
		if err != nil {
			return err
		}
		g.admin.Handle("/admin/", api)
		g.logger.Info("admin API on the admin listener", "addr", g.cfg.Listen.Admin)
	}
	for path, h := range g.extras.admin {
		g.admin.Handle(path, h)
	}
	if mountPprof(g.admin) {
		g.logger.Warn("runtime profiles on the admin listener (CNSGATE_PPROF=1)", "path", "/debug/pprof/")
	}
	g.goLoop(func(ctx context.Context) { g.metrics.WatchReadiness(ctx, 15*time.Second, checks) })
	g.goLoop(func(ctx context.Context) {
		metrics.PurgeLoop(ctx, g.registry, g.cfg.Audit.Retention.Std(), time.Hour, g.logger)
	})
	if g.cfg.Audit.CheckpointKeyFile != "" {
		g.goLoop(func(ctx context.Context) {
			metrics.CheckpointLoop(ctx, g.registry, g.cfg.Audit.CheckpointInterval.Std(), g.logger)
		})
	}
	return nil
}
