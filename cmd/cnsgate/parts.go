package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
)

// sessionBackend is the configured session store and its ephemeral side.
type sessionBackend struct {
	store     sessions.Store
	ephemeral sessions.Ephemeral
	close     func() error
}

func buildSessions(c config.Sessions, limits config.Limits) (*sessionBackend, error) {
	switch c.Store {
	case config.StoreRedis:
		opts := redisstore.Options{
			Mode:  redisstore.Mode(c.Redis.EffectiveMode()),
			Addrs: c.Redis.Addrs, MasterName: c.Redis.MasterName, Username: c.Redis.Username,
			Password: c.Redis.Password.Value(), DB: c.Redis.DB,
		}
		if c.Redis.TLS {
			opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		client, err := redisstore.NewClient(opts)
		if err != nil {
			return nil, fmt.Errorf("sessions: %w", err)
		}
		st, err := redisstore.New(client, redisstore.StoreOptions{})
		if err != nil {
			client.Close()
			return nil, fmt.Errorf("sessions: %w", err)
		}
		return &sessionBackend{store: st, ephemeral: st.Ephemeral(), close: client.Close}, nil
	default:
		m := sessions.NewMemory(sessions.MemoryOptions{EphemeralLimits: map[string]int{idp.PendingNamespace: limits.PendingMax}})
		return &sessionBackend{store: m, ephemeral: m.Ephemeral(), close: m.Close}, nil
	}
}

// openRegistry opens the database, retrying for up to a minute: replicas
// and their database often start together, and migrations need it up.
func openRegistry(ctx context.Context, c config.Registry, logger *slog.Logger, extra ...sqlstore.Option) (*sqlstore.DB, error) {
	deadline := time.Now().Add(time.Minute)
	delay := 500 * time.Millisecond
	opts := append([]sqlstore.Option{sqlstore.WithLogger(logger), sqlstore.WithConnectTimeout(c.Timeout.Std()),
		sqlstore.WithWriteTimeout(c.Timeout.Std()), sqlstore.WithPool(c.MaxConns, c.MaxIdleConns)}, extra...)
	for {
		db, err := sqlstore.Open(ctx, string(c.Driver), c.DSN.Value(), opts...)
		if err == nil {
			return db, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, err
		}
		logger.Warn("registry not reachable yet; retrying", "driver", c.Driver, "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 8*time.Second)
	}
}

// serviceLinks lists the relying parties with their audience; those with a
// home page appear under the welcome page's "Servizi attivi".
func serviceLinks(cfg *config.Config) []idp.ServiceLink {
	var out []idp.ServiceLink
	for _, c := range cfg.OIDC.Clients {
		out = append(out, idp.ServiceLink{ID: c.ID, Name: c.Name, URL: c.HomeURL,
			Audience: string(c.Audience), RequiredRoles: c.RequiredRoles})
	}
	for _, sp := range cfg.SAML.ServiceProviders {
		out = append(out, idp.ServiceLink{ID: sp.EntityID, Name: sp.Name, URL: sp.HomeURL,
			Audience: string(sp.Audience), RequiredRoles: sp.RequiredRoles})
	}
	if cfg.ConsoleOn() {
		out = append(out, consoleLink(cfg))
	}
	return out
}

// relyingParties lists every configured relying party, with its home page
// when it has one, for the login page's "Stai accedendo a …".
func relyingParties(cfg *config.Config) []idp.ServiceLink {
	var out []idp.ServiceLink
	for _, c := range cfg.OIDC.Clients {
		out = append(out, idp.ServiceLink{ID: c.ID, Name: c.Name, URL: c.HomeURL})
	}
	for _, sp := range cfg.SAML.ServiceProviders {
		out = append(out, idp.ServiceLink{ID: sp.EntityID, Name: sp.Name, URL: sp.HomeURL})
	}
	if cfg.ConsoleOn() {
		out = append(out, idp.ServiceLink{ID: idp.ConsoleClientID, Name: consoleLink(cfg).Name})
	}
	return out
}

// clientIDs and spEntityIDs are the configured relying parties: the only
// values the metrics' client label takes.
func clientIDs(cfg *config.Config) []string {
	var out []string
	for _, c := range cfg.OIDC.Clients {
		out = append(out, c.ID)
	}
	if cfg.ConsoleOn() {
		out = append(out, idp.ConsoleClientID)
	}
	return out
}

func spEntityIDs(cfg *config.Config) []string {
	var out []string
	for _, sp := range cfg.SAML.ServiceProviders {
		out = append(out, sp.EntityID)
	}
	return out
}

var (
	_ io.Closer              = (*sqlstore.DB)(nil)
	_ sqlstore.BatchObserver = (*metrics.Metrics)(nil)
)
