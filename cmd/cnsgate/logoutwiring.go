package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/saml"
)

// adminLogin is the login service of an administrative command: no
// listeners, but the configured OIDC provider and SAML IdP as its logout
// notifiers, so that the sessions it ends tell their relying parties as
// serve would.
type adminLogin struct {
	svc *idp.Service
	sp  *saml.IdP
}

func newAdminLogin(cfg *config.Config, backend *sessionBackend, reg *registry.DB, logger *slog.Logger) (*adminLogin, error) {
	svc := idp.NewService(idp.Deps{
		Sessions: backend.store, Ephemeral: backend.ephemeral, Registry: reg, Auditor: reg, Logger: logger,
	}, idp.Options{
		AuditSink: string(cfg.Audit.Sink), AuditRevealFiscalCode: cfg.Audit.RevealFiscalCode,
		Issuer: cfg.Issuer, CNSOrigin: cfg.CNSOrigin,
		IdleTimeout: cfg.Sessions.IdleTimeout.Std(), AbsoluteTimeout: cfg.Sessions.AbsoluteTimeout.Std(),
	})
	a := &adminLogin{svc: svc}
	fail := func(err error) (*adminLogin, error) {
		_ = a.close(context.Background())
		return nil, err
	}
	outbound, err := outboundClient(nil)
	if err != nil {
		return fail(err)
	}
	if len(cfg.OIDC.Clients) > 0 {
		if _, err := oidc.New(cfg.OIDC, svc, backend.store, backend.ephemeral, oidc.Options{Logger: logger, HTTPClient: outbound}); err != nil {
			return fail(fmt.Errorf("oidc: %w", err))
		}
	}
	if cfg.SAML.CertFile != "" {
		a.sp, err = saml.New(cfg.SAML, svc, backend.store, backend.ephemeral, saml.Options{
			NameIDSalt: []byte(cfg.SAML.NameIDSalt.Value()), Logger: logger.With("component", "saml"), HTTPClient: outbound,
		})
		if err != nil {
			return fail(fmt.Errorf("saml: %w", err))
		}
	}
	return a, nil
}

// close waits for the logout deliveries until ctx ends, then stops the
// SAML IdP's metadata refresh.
func (a *adminLogin) close(ctx context.Context) error {
	err := a.svc.Close(ctx)
	if a.sp != nil {
		_ = a.sp.Close(ctx)
	}
	return err
}
