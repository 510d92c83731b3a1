package oidc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
)

// Kind is the pending-request kind the provider resumes (idp.PendingRequest).
const Kind = "oidc"

// Options are the provider's collaborators and tunables; zero values take
// the defaults.
type Options struct {
	// Now and Rand default to time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
	// HTTPClient fetches clients' jwks_uri and posts back-channel logout
	// tokens; default a client with a 10 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Recorder   Recorder
	// Pages renders the error page; built with web.New when nil.
	Pages *web.Pages
	// ReadFile reads the signing key files; default os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// BackchannelAttempts bounds the deliveries of one logout token
	// (default 4); BackchannelBackoff is the wait before the first retry,
	// doubled at each (default 1 s).
	BackchannelAttempts int
	BackchannelBackoff  time.Duration
}

// Provider is the OpenID Provider. Build it with New; mount its routes on
// the public listener with Mount.
type Provider struct {
	issuer    string
	svc       *idp.Service
	store     sessions.Store
	eph       sessions.Ephemeral
	keys      *keySet
	clients   map[string]*client
	salt      []byte
	accessTTL time.Duration
	idTTL     time.Duration

	now      func() time.Time
	rand     io.Reader
	http     *http.Client
	logger   *slog.Logger
	recorder Recorder
	pages    *web.Pages
	remote   *remoteKeys

	attempts int
	backoff  time.Duration
	mu       sync.Mutex
	closing  bool // set by Close: no new back-channel deliveries
	wg       sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once
}

var _ idp.LogoutNotifier = (*Provider)(nil)

// New builds the provider from the oidc section of the configuration (it
// reads the signing key files) and registers it with svc: the resumer of
// Kind, the end-session handler of /logout and the logout notifier. The
// issuer is svc.Issuer().
func New(cfg config.OIDC, svc *idp.Service, store sessions.Store, eph sessions.Ephemeral, o Options) (*Provider, error) {
	if err := o.fillDefaults(); err != nil {
		return nil, err
	}
	pems := make([][]byte, 0, len(cfg.SigningKeys))
	for _, f := range cfg.SigningKeys {
		data, err := o.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("oidc: signing key: %w", err)
		}
		pems = append(pems, data)
	}
	keys, err := parseSigningKeys(pems...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	clients, err := newClients(cfg.Clients)
	if err != nil {
		return nil, err
	}
	salt := cfg.SubjectSalt.Value()
	if len(clients) > 0 && len(salt) < config.MinSubjectSaltLength {
		return nil, errors.New("oidc: subject_salt of at least 32 characters is required")
	}
	p := &Provider{
		issuer: strings.TrimRight(svc.Issuer(), "/"), svc: svc, store: store, eph: eph,
		keys: keys, clients: clients, salt: []byte(salt),
		accessTTL: durationOr(cfg.AccessTokenLifetime, config.DefaultTokenLifetime),
		idTTL:     durationOr(cfg.IDTokenLifetime, config.DefaultTokenLifetime),
		now:       o.Now, rand: o.Rand, http: o.HTTPClient, logger: o.Logger, recorder: o.Recorder, pages: o.Pages,
		attempts: o.BackchannelAttempts, backoff: o.BackchannelBackoff, stop: make(chan struct{}),
	}
	p.remote = newRemoteKeys(p.http, p.now)
	svc.RegisterResumer(Kind, p.resume)
	svc.SetEndSessionHandler(p.endSession)
	svc.AddLogoutNotifier(p)
	return p, nil
}

// fillDefaults gives every option left unset its default: the system
// clock and randomness, a 10 s HTTP client, a silent logger and recorder,
// the embedded pages.
func (o *Options) fillDefaults() error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Recorder == nil {
		o.Recorder = NopRecorder{}
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.BackchannelAttempts <= 0 {
		o.BackchannelAttempts = 4
	}
	if o.BackchannelBackoff <= 0 {
		o.BackchannelBackoff = time.Second
	}
	if o.Pages == nil {
		pages, err := web.New()
		if err != nil {
			return err
		}
		o.Pages = pages
	}
	return nil
}

func durationOr(d config.Duration, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d.Std()
}

// The provider's paths on the public origin; /logout belongs to idp and
// reaches the provider through SetEndSessionHandler.
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathJWKS       = "/jwks"
	PathAuthorize  = "/authorize"
	PathToken      = "/token"
	PathUserinfo   = "/userinfo"
	PathRevoke     = "/revoke"
	PathIntrospect = "/introspect"
	PathEndSession = "/logout"
)

// Routes lists the patterns Mount registers, for route labels of metrics.
func Routes() []string {
	return []string{
		"GET " + PathDiscovery, "GET " + PathJWKS,
		"GET " + PathAuthorize, "POST " + PathAuthorize,
		"POST " + PathToken,
		"GET " + PathUserinfo, "POST " + PathUserinfo,
		"POST " + PathRevoke, "POST " + PathIntrospect,
	}
}

// Mount registers the provider's endpoints on mux (the public listener's,
// idp.Service.PublicHandler()).
func (p *Provider) Mount(mux *http.ServeMux) {
	handlers := []http.HandlerFunc{
		p.discovery, p.jwks,
		p.authorize, p.authorize,
		p.token,
		p.userinfo, p.userinfo,
		p.revoke, p.introspect,
	}
	for i, pattern := range Routes() {
		mux.HandleFunc(pattern, handlers[i])
	}
}

// Close waits for the back-channel logout deliveries under way; when ctx
// ends first, the remaining retries are abandoned.
func (p *Provider) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		p.stopOnce.Do(func() { close(p.stop) })
		<-done
		return ctx.Err()
	}
}

// newSecret returns a fresh 256-bit random token (codes, refresh tokens,
// token ids, families).
func (p *Provider) newSecret() (string, error) { return sessions.NewID(p.rand) }

// discovery serves the OpenID Provider metadata.
func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	iss := p.issuer
	authMethods := []string{
		string(config.AuthClientSecretBasic), string(config.AuthClientSecretPost),
		string(config.AuthPrivateKeyJWT), string(config.AuthNone),
	}
	meta := map[string]any{
		"issuer":                                                   iss,
		"authorization_endpoint":                                   iss + PathAuthorize,
		"token_endpoint":                                           iss + PathToken,
		"userinfo_endpoint":                                        iss + PathUserinfo,
		"jwks_uri":                                                 iss + PathJWKS,
		"end_session_endpoint":                                     iss + PathEndSession,
		"revocation_endpoint":                                      iss + PathRevoke,
		"introspection_endpoint":                                   iss + PathIntrospect,
		"scopes_supported":                                         supportedScopes,
		"response_types_supported":                                 []string{"code"},
		"response_modes_supported":                                 []string{"query", "form_post"},
		"grant_types_supported":                                    []string{"authorization_code", "refresh_token"},
		"subject_types_supported":                                  []string{string(config.SubjectPairwise), string(config.SubjectPublic)},
		"id_token_signing_alg_values_supported":                    p.keys.algs,
		"token_endpoint_auth_methods_supported":                    authMethods,
		"token_endpoint_auth_signing_alg_values_supported":         assertionAlgs,
		"revocation_endpoint_auth_methods_supported":               authMethods,
		"revocation_endpoint_auth_signing_alg_values_supported":    assertionAlgs,
		"introspection_endpoint_auth_methods_supported":            authMethods,
		"introspection_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"code_challenge_methods_supported":                         []string{"S256"},
		"claims_supported":                                         claimsSupported,
		"acr_values_supported":                                     []string{idp.ACRSmartcard},
		"prompt_values_supported":                                  []string{"none", "login"},
		"claims_parameter_supported":                               false,
		"request_parameter_supported":                              false,
		"request_uri_parameter_supported":                          false,
		"require_request_uri_registration":                         false,
		"authorization_response_iss_parameter_supported":           true,
		"backchannel_logout_supported":                             true,
		"backchannel_logout_session_supported":                     true,
		"frontchannel_logout_supported":                            false,
		"ui_locales_supported":                                     []string{"it", "en"},
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeBody(w, meta)
}

// jwks publishes every signing key.
func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeBody(w, p.keys.public)
}
