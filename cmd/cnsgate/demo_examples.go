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
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/examples/cms"
	"github.com/cnsgate/cnsgate/examples/esenzioni"
)

// exampleApp is a demo relying party run beside cnsgate on a listener of
// its own, with the demo TLS certificate.
type exampleApp struct {
	label   string // banner column
	name    string
	kind    string
	baseURL string
	ln      net.Listener
	// build makes the handler; it may fail while cnsgate is not answering
	// yet, and is retried.
	build func(ctx context.Context) (http.Handler, error)
	srv   *http.Server
}

// exampleApps are the demo's relying parties.
type exampleApps struct {
	apps   []*exampleApp
	tls    *tls.Config
	logger *slog.Logger
	wg     sync.WaitGroup
}

// appStartTimeout bounds the wait for cnsgate's discovery document.
const appStartTimeout = 30 * time.Second

// exampleListeners are the example relying parties' sockets, bound before
// the configuration is written; nil leaves one out.
type exampleListeners struct {
	esenzioni, cms net.Listener
}

func newExampleApps(setup *demo.Setup, cfg *config.Config, lns exampleListeners, logger *slog.Logger) (*exampleApps, error) {
	out := &exampleApps{logger: logger}
	if (lns.esenzioni == nil || setup.Esenzioni == nil) && (lns.cms == nil || setup.CMS == nil) {
		return out, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	out.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	// The relying parties call cnsgate, whose certificate the demo TLS CA
	// issued, and trust nothing else.
	caPEM, err := os.ReadFile(setup.TLSCAFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no certificate", setup.TLSCAFile)
	}
	client := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}

	if lns.esenzioni != nil && setup.Esenzioni != nil {
		if err := out.addEsenzioni(setup.Esenzioni, cfg, lns.esenzioni, client); err != nil {
			return nil, err
		}
	}
	if lns.cms != nil && setup.CMS != nil {
		if err := out.addCMS(setup.CMS, cfg, lns.cms, client); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// addCMS adds the SAML service provider, which reads cnsgate's
// /saml/metadata when it starts.
func (e *exampleApps) addCMS(sp *demo.ServiceProvider, cfg *config.Config, ln net.Listener, client *http.Client) error {
	key, cert, err := sp.LoadKeyPair()
	if err != nil {
		return fmt.Errorf("cms key: %w", err)
	}
	cmsLogger := e.logger.With("app", "cms")
	e.apps = append(e.apps, &exampleApp{
		label: "sp", name: sp.Name, kind: "example SAML service provider, operators only", baseURL: sp.BaseURL, ln: ln,
		build: func(ctx context.Context) (http.Handler, error) {
			return cms.New(ctx, cms.Config{
				BaseURL: sp.BaseURL, EntityID: sp.EntityID, IdPMetadataURL: cfg.Issuer + "/saml/metadata",
				IdPLogoutURL: cfg.Issuer + "/logout", Key: key, Certificate: cert, HTTPClient: client, Logger: cmsLogger,
			})
		},
	})
	return nil
}

// addEsenzioni adds the OpenID Connect relying party, which reads
// cnsgate's discovery document when it starts.
func (e *exampleApps) addEsenzioni(rp *demo.RelyingParty, cfg *config.Config, ln net.Listener, client *http.Client) error {
	secret, err := os.ReadFile(rp.SecretFile)
	if err != nil {
		return fmt.Errorf("esenzioni client secret: %w", err)
	}
	esLogger := e.logger.With("app", rp.ClientID)
	e.apps = append(e.apps, &exampleApp{
		label: "rp", name: rp.Name, kind: "example OIDC relying party", baseURL: rp.BaseURL, ln: ln,
		build: func(ctx context.Context) (http.Handler, error) {
			return esenzioni.New(ctx, esenzioni.Config{
				Issuer: cfg.Issuer, ClientID: rp.ClientID, ClientSecret: strings.TrimRight(string(secret), "\r\n"),
				RedirectURL: rp.RedirectURL, PostLogoutRedirectURL: rp.PostLogoutRedirectURL,
				BackchannelLogoutURL: rp.BackchannelLogoutURL, HTTPClient: client, Logger: esLogger,
			})
		},
	})
	return nil
}

// start builds every relying party, retrying while cnsgate does not answer
// yet, and serves each on its listener. It returns once all serve, or the
// first that cannot be built.
func (e *exampleApps) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, appStartTimeout)
	defer cancel()
	for _, a := range e.apps {
		h, err := buildWithRetry(ctx, a.build)
		if err != nil {
			return fmt.Errorf("%s (%s): %w", a.name, a.baseURL, err)
		}
		a.srv = newServer(h, e.tls, e.logger)
		e.wg.Add(1)
		go func(a *exampleApp) {
			defer e.wg.Done()
			if err := a.srv.Serve(tls.NewListener(a.ln, e.tls)); err != nil && !errors.Is(err, http.ErrServerClosed) {
				e.logger.Error("example relying party stopped", "app", a.name, "err", err)
			}
		}(a)
		e.logger.Info("example relying party started", "app", a.name, "url", a.baseURL+"/")
	}
	return nil
}

func buildWithRetry(ctx context.Context, build func(context.Context) (http.Handler, error)) (http.Handler, error) {
	delay := 100 * time.Millisecond
	for {
		h, err := build(ctx)
		if err == nil {
			return h, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// shutdown stops the relying parties that were started; call it once
// start has returned.
func (e *exampleApps) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, a := range e.apps {
		if a.srv != nil {
			_ = a.srv.Shutdown(ctx)
		}
	}
	e.wg.Wait()
}
