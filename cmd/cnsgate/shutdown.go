package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cnsgate/cnsgate/idp"
)

// shutdownStep is one step of the ordered shutdown.
type shutdownStep struct {
	name string
	run  func(context.Context) error
}

// shutdown takes the gateway down in this order, each step after the one
// before has finished:
//
//  1. /readyz answers 503, and the process waits shutdown.drain so that a
//     load balancer stops sending new requests;
//  2. the listeners stop accepting and the requests in flight finish;
//  3. the revocation checker stops refreshing, and the background loops and
//     tasks (audit purge, sessions of newly revoked cards) end;
//  4. the logout deliveries still pending (OIDC back-channel logout tokens,
//     SAML LogoutRequests) are sent, or given up and audited;
//  5. the registry pool (audit writes done) and the session store close.
//
// Steps 2 to 5 share shutdown.timeout. Parts that were never built are
// skipped, so a start that failed half-way closes what it opened.
func (g *gateway) shutdown() error {
	g.stopping.Store(true)
	if drain := g.cfg.Shutdown.Drain.Std(); drain > 0 && g.net != nil && len(g.net.servers) > 0 {
		g.logger.Info("shutdown: readiness is false; waiting for the load balancer", "drain", drain)
		time.Sleep(drain)
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.Shutdown.Timeout.Std())
	defer cancel()
	var errs []error
	for _, s := range g.shutdownSteps() {
		start := time.Now()
		err := s.run(ctx)
		g.logger.Info("shutdown step", "step", s.name, "took", time.Since(start).Round(time.Millisecond), "err", err)
		if err != nil {
			errs = append(errs, fmt.Errorf("shutdown %s: %w", s.name, err))
		}
	}
	return errors.Join(errs...)
}

// syslogDrain bounds, within shutdown.timeout, the wait for the syslog
// collector to take the audit events still queued.
const syslogDrain = 5 * time.Second

func (g *gateway) shutdownSteps() []shutdownStep {
	var steps []shutdownStep
	add := func(name string, run func(context.Context) error) {
		steps = append(steps, shutdownStep{name, run})
	}
	if g.net != nil {
		add("listeners", g.net.close)
	}
	if g.checker != nil {
		add("revocation", func(context.Context) error { g.checker.Close(); return nil })
	}
	if g.protocols != nil && g.protocols.sp != nil {
		add("saml metadata refresh", g.protocols.sp.Close)
	}
	add("background", g.stopBackground)
	if g.svc != nil {
		add("logout deliveries", g.svc.Close)
	}
	if g.syslog != nil {
		add("audit syslog", func(ctx context.Context) error {
			// What the collector has not taken by then is dropped, counted and logged.
			ctx, cancel := context.WithTimeout(ctx, syslogDrain)
			defer cancel()
			g.syslog.Close(ctx)
			return nil
		})
	}
	if g.registry != nil {
		add("registry", func(context.Context) error { return g.registry.Close() })
	}
	if g.sessions != nil {
		add("sessions", func(context.Context) error { return g.sessions.close() })
	}
	return steps
}

// stopBackground ends the background loops at once and waits, up to ctx,
// for the tasks still running (ending the sessions of revoked cards); past
// ctx their context is cancelled and they are waited for once more.
func (g *gateway) stopBackground(ctx context.Context) error {
	g.stopLoops()
	done := idp.Done(&g.background)
	select {
	case <-done:
		g.stopTasks()
		return nil
	case <-ctx.Done():
		g.stopTasks()
		<-done
		return fmt.Errorf("background tasks cut short: %w", ctx.Err())
	}
}
