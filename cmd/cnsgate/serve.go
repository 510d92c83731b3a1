package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns/tslsync"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (YAML)")
	describe(fs, "cnsgate serve --config FILE", serveAbout)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
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

const serveAbout = `Runs the gateway: the public listener (OpenID Connect, SAML, the citizen's
pages), the card listener (mutual TLS) and the admin listener (/metrics,
/healthz, /readyz, the admin API).

The configuration is YAML; config/example.yaml in the cnsgate sources lists
every option with its default and meaning, and every option can be set by
a CNSGATE_* environment variable. Check a configuration first with
"cnsgate check-config --config FILE".

Signals:
  SIGHUP   reload the trust store (trust.*), the allowlist, the OIDC signing keys (oidc.signing_keys, oidc.keys) and saml.next_cert_file
           (registration.allowlist_file); on an error the running ones stay
  SIGTERM  shut down in order (also Ctrl-C / SIGINT): /readyz turns false,
           wait shutdown.drain, stop the listeners, finish the requests and
           the logout deliveries, close the registry and the session store
`

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

// serveExtras are what the demo adds to a gateway: more handlers on the
// admin listener (its CA's CRL and OCSP), and more roots trusted by
// cnsgate's outgoing HTTPS calls (its own TLS CA, which signs the example
// relying parties' certificates).
type serveExtras struct {
	admin map[string]http.Handler
	roots []*x509.Certificate
}

// serve runs cnsgate until ctx ends, then shuts it down in order (see
// gateway.shutdown). ready, when not nil, receives the bound addresses once
// every listener accepts connections.
func serve(ctx context.Context, cfg *config.Config, cfgPath string, logger *slog.Logger, ready func(bound), extras serveExtras) error {
	g := newGateway(cfg, cfgPath, logger, extras)
	if err := g.build(ctx); err != nil {
		return errors.Join(err, g.shutdown())
	}
	b := g.start(ctx)
	logger.Info("cnsgate started", "version", version, "public", b.Public, "cns", b.CNS, "admin", b.Admin,
		"issuer", cfg.Issuer, "cns_origin", cfg.CNSOrigin, "cns_max_tls", cfg.TLS.CNSMaxVersion)
	if ready != nil {
		ready(b)
	}
	runErr := g.run(ctx)
	logger.Info("cnsgate shutting down", "drain", cfg.Shutdown.Drain, "timeout", cfg.Shutdown.Timeout)
	err := errors.Join(runErr, g.shutdown())
	logger.Info("cnsgate stopped cleanly", "ok", err == nil)
	return err
}

// build makes every part, in the order each needs the previous ones. On an
// error, what was already opened is left in g for shutdown to close.
func (g *gateway) build(ctx context.Context) error {
	steps := []struct {
		name string
		step func(context.Context) error
	}{
		{"trusted list", g.buildTSL},
		{"trust", g.buildTrust},
		{"sessions", g.buildSessions},
		{"metrics", g.buildMetrics},
		{"registry", g.buildRegistry},
		{"allowlist", g.buildAllowlist},
		{"revocation", g.buildRevocation},
		{"login service", g.buildLoginService},
		{"protocols", g.buildProtocols},
		{"admin", g.buildAdmin},
		{"console", g.buildConsole},
		{"listeners", g.buildListeners},
	}
	for _, s := range steps {
		if err := s.step(ctx); err != nil {
			g.logger.Error("cnsgate could not start", "part", s.name, "err", err)
			return err
		}
	}
	g.startTSL()
	return nil
}

// run waits for the end of ctx or of a listener, reloading the trust store
// on every SIGHUP.
func (g *gateway) run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-g.serveErr:
			return err
		case <-hup:
			g.reload()
		}
	}
}

// reload re-reads the trust section, the allowlist, the OIDC signing keys
// and the next SAML certificate on SIGHUP, and audits each outcome.
func (g *gateway) reload() {
	g.reloadTrustAudited()
	g.reloadAllowlist(context.Background())
	g.reloadKeysAudited()
}

// reloadTrustAudited re-reads the trust section and audits the outcome.
func (g *gateway) reloadTrustAudited() {
	ts, err := g.reloadTrust()
	ev := registry.Event{Kind: registry.KindConfigReload, Outcome: registry.OutcomeSuccess, Detail: []byte(`{"part":"trust"}`)}
	if err != nil {
		ev.Outcome, ev.Reason = registry.OutcomeFailure, "invalid"
		ev.Detail, _ = json.Marshal(map[string]string{"part": "trust", "error": err.Error()})
	} else {
		ev.Detail, _ = json.Marshal(map[string]any{"part": "trust", "anchors": ts.store.Len()})
	}
	g.svc.Audit(context.Background(), ev)
}

// reloadTrust re-reads the trust section of the configuration file and, when
// it loads, swaps the validator; on any error the running one is kept. The
// list of trust.tsl_url is the one in use: SIGHUP fetches nothing (and a
// changed tsl_url, tsl_refresh or tsl_cache_file takes a restart).
func (g *gateway) reloadTrust() (*trustSet, error) {
	trust := g.trustConfig()
	if g.cfgPath != "" {
		cfg, err := config.Load(g.cfgPath)
		if err != nil {
			g.logger.Error("trust reload refused: configuration is invalid; keeping the current trust store", "err", err)
			return nil, err
		}
		trust = cfg.Trust
	}
	return g.swapTrust(trust, "sighup")
}

// swapTrust builds a trust set from t and the list of trust.tsl_url in
// use and publishes it: the validator of the card listener, the anchors
// of the revocation checker, the issuer labels. One swap at a time (SIGHUP
// and a new list may come together); on any error the running set stays.
func (g *gateway) swapTrust(t config.Trust, why string) (*trustSet, error) {
	g.trustMu.Lock()
	defer g.trustMu.Unlock()
	ts, err := loadTrustWith(t, g.tslList())
	if err == nil {
		err = ts.requireUsable()
	}
	if err != nil {
		g.logger.Error("trust reload failed; keeping the current trust store", "cause", why, "err", err)
		return nil, err
	}
	g.trust.Store(ts)
	g.trustCfg = t
	g.front.SetValidator(ts.validator)
	g.metrics.SetIssuers(metrics.IssuerLabels(ts.store.Anchors()))
	for _, r := range ts.reports {
		g.logger.Info("trust store reloaded", "cause", why, "source", r.Source, "summary", r.Summary())
	}
	return ts, nil
}

// trustConfig is the trust section the running store was built from.
func (g *gateway) trustConfig() config.Trust {
	g.trustMu.Lock()
	defer g.trustMu.Unlock()
	return g.trustCfg
}

// tslList is the list of trust.tsl_url in use, nil without one.
func (g *gateway) tslList() *tslsync.List {
	if g.syncer == nil {
		return nil
	}
	return g.syncer.Current()
}
