package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/oidc/federation"
	"github.com/cnsgate/cnsgate/idp/saml"
	"github.com/cnsgate/cnsgate/idp/signer"
	"github.com/cnsgate/cnsgate/idp/web"
)

// loginOptions maps the configuration onto the login service's options,
// the same for serve and for the administrative commands.
func loginOptions(cfg *config.Config) idp.Options {
	return idp.Options{
		AuditSink: string(cfg.Audit.Sink), AuditRevealFiscalCode: cfg.Audit.RevealFiscalCode,
		Issuer: cfg.Issuer, CNSOrigin: cfg.CNSOrigin,
		AllowlistOnly:   cfg.Registration.Mode == config.RegistrationAllowlist,
		ConfirmIdentity: cfg.Login.ConfirmIdentity,
		ConfirmRelease:  cfg.Login.ConfirmRelease,
		ConsentVersion:  cfg.Registration.ConsentVersion,
		IdleTimeout:     cfg.Sessions.IdleTimeout.Std(), AbsoluteTimeout: cfg.Sessions.AbsoluteTimeout.Std(),
		Services:        serviceLinks(cfg),
		RelyingParties:  relyingParties(cfg),
		OperatorRoles:   cfg.Operators.Roles,
		RegistryTimeout: cfg.Registry.Timeout.Std(),
		Limits: idp.Limits{
			PendingTTL: cfg.Limits.PendingTTL.Std(),
			PerIPRate:  float64(cfg.Limits.PendingPerIPRate) / 60, PerIPBurst: cfg.Limits.PendingPerIPBurst,
			TrackedIPs: cfg.Limits.TrackedIPs,
		},
	}
}

// siteOf is what every page shows around its content (config web.*): the
// administration, its logo read now, the footer's links, the help desk and
// the pages' time zone.
func siteOf(cfg *config.Config) (web.Site, error) {
	w := cfg.Web
	loc, err := time.LoadLocation(w.Timezone)
	if err != nil {
		return web.Site{}, fmt.Errorf("web: timezone: %w", err)
	}
	site := web.Site{
		Brand:    web.Brand{Name: w.Brand.Name, URL: w.Brand.URL},
		Links:    web.Links{Accessibility: w.Links.Accessibility, Privacy: w.Links.Privacy, Legal: w.Links.Legal},
		Help:     web.Help{Phone: w.Help.Phone, Hours: w.Help.Hours, Email: w.Help.Email, Middleware: w.Help.MiddlewareURL, Drivers: w.Help.DriversURL},
		Home:     cfg.Issuer,
		Location: loc,
	}
	if w.Brand.LogoFile != "" {
		logo, err := os.ReadFile(w.Brand.LogoFile)
		if err != nil {
			return web.Site{}, fmt.Errorf("web: brand: logo_file: %w", err)
		}
		if len(logo) > config.MaxLogoBytes {
			return web.Site{}, fmt.Errorf("web: brand: logo_file %s is %d bytes, at most %d", w.Brand.LogoFile, len(logo), config.MaxLogoBytes)
		}
		site.Brand.Logo, site.Brand.LogoType = logo, web.LogoTypeOf(w.Brand.LogoFile)
	}
	return site, nil
}

// protocols are the configured OpenID Provider and SAML IdP (either may be
// nil). Built, they are the login service's logout notifiers.
type protocols struct {
	op  *oidc.Provider
	fed *federation.Federation // nil without a federation section
	sp  *saml.IdP
}

// protocolDeps are what the protocol packages take besides the config;
// recorders and pages may be nil (an administrative command has none).
type protocolDeps struct {
	logger       *slog.Logger
	oidcRecorder oidc.Recorder
	fedRecorder  federation.Recorder
	samlRecorder saml.Recorder
	pages        *web.Pages
	outbound     *http.Client
	// consoleSecret, when set, adds the console's client (console.go).
	consoleSecret string
}

func newProtocols(cfg *config.Config, svc *idp.Service, backend *sessionBackend, d protocolDeps) (*protocols, error) {
	var p protocols
	if len(cfg.OIDC.Clients) > 0 || cfg.Federation.Enabled() || d.consoleSecret != "" {
		keys, err := openOIDCKeys(cfg.OIDC)
		if err != nil {
			return nil, err
		}
		o := oidcOptions(cfg.OIDC, oidc.Options{Logger: d.logger, Recorder: d.oidcRecorder, HTTPClient: d.outbound, Keys: keys})
		if d.consoleSecret != "" {
			o.Clients = append(o.Clients, consoleClient(cfg, d.consoleSecret))
		}
		if cfg.Federation.Enabled() {
			fed, err := newFederation(cfg.Federation, d, func() *oidc.Provider { return p.op })
			if err != nil {
				return nil, err
			}
			p.fed, o.ResolveClient = fed, fed.ResolveClient
		}
		op, err := oidc.New(svc, backend.store, backend.ephemeral, o)
		if err != nil {
			return nil, fmt.Errorf("oidc: %w", err)
		}
		p.op = op
	}
	if cfg.SAML.CertFile != "" {
		o := saml.Options{Logger: d.logger.With("component", "saml"), Recorder: d.samlRecorder, Pages: d.pages, HTTPClient: d.outbound}
		if cfg.SAML.KeyPKCS11 != nil {
			s, err := signer.Open(signerSpec("", cfg.SAML.KeyPKCS11), nil)
			if err != nil {
				return nil, fmt.Errorf("saml.key_pkcs11: %w", err)
			}
			o.Signer = s
		}
		sp, err := saml.New(svc, backend.store, backend.ephemeral, samlOptions(cfg.SAML, o))
		if err != nil {
			return nil, fmt.Errorf("saml: %w", err)
		}
		p.sp = sp
	}
	return &p, nil
}

// mount serves the protocols' endpoints on the public mux.
func (p *protocols) mount(mux *http.ServeMux) {
	if p.op != nil {
		p.op.Mount(mux)
	}
	if p.fed != nil {
		p.fed.Mount(mux)
	}
	if p.sp != nil {
		p.sp.Mount(mux)
	}
}

// oidcOptions returns o with the provider's settings taken from the oidc
// section of a loaded (defaulted and validated) configuration; o carries
// the collaborators (logger, recorder, HTTP client).
func oidcOptions(c config.OIDC, o oidc.Options) oidc.Options {
	o.SigningKeys = c.SigningKeys
	o.SubjectSalt = []byte(c.SubjectSalt.Value())
	o.AccessTokenLifetime = c.AccessTokenLifetime.Std()
	o.IDTokenLifetime = c.IDTokenLifetime.Std()
	o.LogoutConfirmation = oidc.LogoutConfirmation(c.LogoutConfirmation)
	o.RefreshReuseGrace = c.RefreshReuseGrace.Std()
	if o.RefreshReuseGrace == 0 {
		o.RefreshReuseGrace = oidc.NoRefreshReuseGrace // 0s in the file turns it off
	}
	o.ACRLevels = c.ACRLevels
	o.Clients = make([]oidc.Client, 0, len(c.Clients))
	for _, cc := range c.Clients {
		o.Clients = append(o.Clients, oidc.Client{
			ID: cc.ID, Name: cc.Name, Secret: cc.Secret.Value(),
			RedirectURIs: cc.RedirectURIs, PostLogoutRedirectURIs: cc.PostLogoutRedirectURIs,
			BackchannelLogoutURI: cc.BackchannelLogoutURI, AllowedOrigins: cc.AllowedOrigins,
			AuthMethod: oidc.AuthMethod(cc.TokenEndpointAuthMethod),
			JWKS:       cc.JWKS, JWKSURI: cc.JWKSURI,
			Scopes: cc.Scopes, SubjectType: oidc.SubjectType(cc.SubjectType),
			IDTokenSignedResponseAlg:  string(cc.IDTokenSignedResponseAlg),
			UserinfoSignedResponseAlg: string(cc.UserinfoSignedResponseAlg),
			JWTAccessTokens:           cc.AccessTokenFormat == config.AccessTokenJWT,
			OmitResponseISS:           cc.AuthorizationResponseISS != nil && !*cc.AuthorizationResponseISS,
			Profile:                   string(cc.Profile),

			UserinfoEncryptedResponseAlg: cc.UserinfoEncryptedResponseAlg,
			UserinfoEncryptedResponseEnc: cc.UserinfoEncryptedResponseEnc,
			IDTokenEncryptedResponseAlg:  cc.IDTokenEncryptedResponseAlg,
			IDTokenEncryptedResponseEnc:  cc.IDTokenEncryptedResponseEnc,
		})
	}
	return o
}

// samlOptions returns o with the identity provider's settings taken from
// the saml section of a loaded (defaulted and validated) configuration; o
// carries the collaborators.
func samlOptions(c config.SAML, o saml.Options) saml.Options {
	o.CertFile, o.KeyFile, o.NextCertFile = c.CertFile, c.KeyFile, c.NextCertFile
	o.NameIDSalt = []byte(c.NameIDSalt.Value())
	o.MetadataValidFor, o.MetadataCacheDuration = c.MetadataValidFor.Std(), c.MetadataCacheDuration.Std()
	o.NotBeforeSkew = c.NotBeforeSkew.Std()
	if o.NotBeforeSkew == 0 {
		o.NotBeforeSkew = -1 // not_before_skew: 0 means none; a zero option would take the default
	}
	o.ServiceProviders = make([]saml.ServiceProvider, 0, len(c.ServiceProviders))
	for _, sp := range c.ServiceProviders {
		o.ServiceProviders = append(o.ServiceProviders, saml.ServiceProvider{
			EntityID: sp.EntityID, MetadataFile: sp.MetadataFile, MetadataURL: sp.MetadataURL,
			MetadataSignerFile:    sp.MetadataSignerFile,
			AttributeProfile:      saml.AttributeProfile(sp.AttributeProfile),
			NameIDFormat:          saml.NameIDFormat(sp.NameIDFormat),
			RequireSignedRequests: sp.SignedRequests(),
		})
	}
	return o
}
