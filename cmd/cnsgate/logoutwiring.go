package main

import (
	"context"
	"log/slog"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
)

// adminLogin is the login service of an administrative command: no
// listeners, but the configured OIDC provider and SAML IdP as its logout
// notifiers, so that the sessions it ends tell their relying parties as
// serve would.
type adminLogin struct {
	svc       *idp.Service
	protocols *protocols
}

func newAdminLogin(cfg *config.Config, backend *sessionBackend, reg *sqlstore.DB, logger *slog.Logger) (*adminLogin, error) {
	svc := idp.NewService(idp.Deps{
		Sessions: backend.store, Ephemeral: backend.ephemeral, Registry: reg, Auditor: reg, Logger: logger,
	}, loginOptions(cfg))
	a := &adminLogin{svc: svc}
	outbound, err := outboundClient(nil)
	if err == nil {
		a.protocols, err = newProtocols(cfg, svc, backend, protocolDeps{logger: logger, outbound: outbound})
	}
	if err != nil {
		_ = a.close(context.Background())
		return nil, err
	}
	return a, nil
}

// close waits for the logout deliveries until ctx ends, then stops the
// SAML IdP's metadata refresh.
func (a *adminLogin) close(ctx context.Context) error {
	err := a.svc.Close(ctx)
	if a.protocols != nil && a.protocols.sp != nil {
		_ = a.protocols.sp.Close(ctx)
	}
	return err
}
