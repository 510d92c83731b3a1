package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/signer"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
)

// Kind is the pending-request kind the provider resumes (idp.PendingRequest).
const Kind = "oidc"

// MinSubjectSaltLength is the shortest Options.SubjectSalt accepted.
const MinSubjectSaltLength = 32

// DefaultTokenLifetime bounds access and ID tokens when Options leaves
// their lifetime at zero.
const DefaultTokenLifetime = 5 * time.Minute

// DefaultRefreshReuseGrace is Options.RefreshReuseGrace when left at zero;
// NoRefreshReuseGrace turns the grace off.
const (
	DefaultRefreshReuseGrace = 10 * time.Second
	NoRefreshReuseGrace      = time.Duration(-1)
)

// Options are the provider's settings, collaborators and tunables; zero
// values take the defaults. cmd/cnsgate builds them from the oidc section
// of the configuration.
type Options struct {
	// SigningKeys are PEM private key files, read with ReadFile: RSA keys
	// sign RS256 and PS256, EC P-256 keys ES256; for each algorithm the
	// first key that signs it does, the others stay published in /jwks
	// for rotation. At least one; keep an RSA key, since ID tokens are
	// RS256 unless a client registers another algorithm.
	SigningKeys []string
	// Keys are signing keys opened by idp/signer (PEM files or PKCS#11),
	// each in its rotation state: next keys are published in /jwks and do
	// not sign, active ones sign as SigningKeys do (which are all active
	// and come first), retired ones are published until their RetireAfter
	// and do not sign.
	Keys []signer.Key
	// SubjectSalt keys the subject identifiers (sub) derived from the fiscal
	// code: at least MinSubjectSaltLength bytes, required when Clients or
	// ResolveClient are set.
	SubjectSalt []byte
	// AccessTokenLifetime and IDTokenLifetime bound the tokens /token
	// issues (default DefaultTokenLifetime each).
	AccessTokenLifetime time.Duration
	IDTokenLifetime     time.Duration
	// Clients are the relying parties served.
	Clients []Client
	// ResolveClient, when set, is asked for a client whose id is not among
	// Clients (a federated relying party whose id is its entity
	// identifier, registered automatically): it returns the client's
	// registration, or an error whose text the client is told
	// (ErrUnknownClient: not one it resolves). The provider keeps what it
	// builds from a returned *Client for as long as ResolveClient returns
	// the same pointer.
	ResolveClient func(ctx context.Context, id string) (*Client, error)
	// RefreshReuseGrace is how long a rotated refresh token presented again
	// by its client gets the answer of its first use instead of revoking
	// its family (default DefaultRefreshReuseGrace; NoRefreshReuseGrace,
	// or any negative value, turns it off).
	RefreshReuseGrace time.Duration
	// LogoutConfirmation says when an RP-initiated logout asks the
	// citizen first (default ConfirmWithoutValidHint).
	LogoutConfirmation LogoutConfirmation
	// ACRLevels are the acr_values level URIs a card login meets besides
	// SmartcardPKI (say https://www.spid.gov.it/SpidL2): the operator
	// decides; default none.
	ACRLevels []string

	// Now, Rand, HTTPClient, Logger, Pages and ReadFile take the defaults
	// of idp.ProtocolDeps. HTTPClient fetches clients' jwks_uri and posts
	// back-channel logout tokens; Pages renders the error page; ReadFile
	// reads the signing key files.
	Now        func() time.Time
	Rand       io.Reader
	HTTPClient *http.Client
	Logger     *slog.Logger
	Recorder   Recorder
	Pages      *web.Pages
	ReadFile   func(string) ([]byte, error)
}

// Provider is the OpenID Provider. Build it with New; mount its routes on
// the public listener with Mount.
type Provider struct {
	issuer string
	// static are the discovery document and /jwks, encoded once: they
	// change only with the configuration.
	discoveryJSON func() []byte
	svc           *idp.Service
	store         sessions.Store
	eph           sessions.Ephemeral
	ks            atomic.Pointer[keySet] // replaced whole by ReloadKeys
	readFile      func(string) ([]byte, error)
	clients       map[string]*client
	salt          []byte
	macs          sync.Pool // hash.Hash: HMAC-SHA256 keyed by salt (subject)
	accessTTL     time.Duration
	idTTL         time.Duration

	logoutConfirm LogoutConfirmation
	rtGrace       time.Duration // 0: none
	acrLevels     []string      // acrSupported(Options.ACRLevels)

	now      func() time.Time
	rand     io.Reader
	http     *http.Client
	logger   *slog.Logger
	recorder Recorder
	pages    *web.Pages
	remote   *remoteKeys
	resolver *resolvedClients // clients of Options.ResolveClient (resolved.go)
	// origins are the browser origins allowed by CORS (cors.go).
	origins map[string]bool
}

var _ idp.LogoutNotifier = (*Provider)(nil)

// New builds the provider from o (it reads the signing key files) and
// registers it with svc: the resumer of Kind, the end-session handler of
// /logout and the logout notifier. The issuer is svc.Issuer().
func New(svc *idp.Service, store sessions.Store, eph sessions.Ephemeral, o Options) (*Provider, error) {
	deps := idp.ProtocolDeps{Now: &o.Now, Rand: &o.Rand, HTTPClient: &o.HTTPClient, Logger: &o.Logger, ReadFile: &o.ReadFile, Pages: &o.Pages}
	if err := deps.Fill(); err != nil {
		return nil, err
	}
	if o.Recorder == nil {
		o.Recorder = NopRecorder{}
	}
	if o.AccessTokenLifetime <= 0 {
		o.AccessTokenLifetime = DefaultTokenLifetime
	}
	if o.IDTokenLifetime <= 0 {
		o.IDTokenLifetime = DefaultTokenLifetime
	}
	keys, err := loadKeys(o.ReadFile, o.SigningKeys, o.Keys, o.Now())
	if err != nil {
		return nil, err
	}
	if !contains(keys.algs, AlgRS256) {
		o.Logger.Warn("oidc: no RSA signing key: ID tokens are signed " + keys.defaultAlg.String() +
			" and discovery lacks RS256, which OpenID Connect Discovery requires; add an RSA key to signing_keys (cnsgate keys generate)")
	}
	if err := o.fillSessionEnd(); err != nil {
		return nil, err
	}
	clients, err := newClients(o.Clients, keys)
	if err != nil {
		return nil, err
	}
	if (len(clients) > 0 || o.ResolveClient != nil) && len(o.SubjectSalt) < MinSubjectSaltLength {
		return nil, fmt.Errorf("oidc: subject_salt of at least %d characters is required", MinSubjectSaltLength)
	}
	p := &Provider{
		issuer: strings.TrimRight(svc.Issuer(), "/"), svc: svc, store: store, eph: eph,
		clients: clients, salt: o.SubjectSalt, readFile: o.ReadFile,
		accessTTL: o.AccessTokenLifetime, idTTL: o.IDTokenLifetime, logoutConfirm: o.LogoutConfirmation,
		rtGrace: o.RefreshReuseGrace, acrLevels: acrSupported(o.ACRLevels),
		now: o.Now, rand: o.Rand, http: o.HTTPClient, logger: o.Logger, recorder: o.Recorder, pages: o.Pages,
	}
	p.ks.Store(keys)
	o.Logger.Info("oidc: signing keys", "keys", keys.summary())
	p.discoveryJSON = encodeOnce(func() any { return p.metadata() })
	p.remote = newRemoteKeys(p.http, p.now)
	p.origins = corsOrigins(o.Clients)
	p.resolver = newResolvedClients(o.ResolveClient, p.keys)
	svc.RegisterResumer(Kind, p.resume)
	svc.RegisterCanceller(Kind, p.cancel)
	svc.SetEndSessionHandler(p.endSession)
	svc.AddLogoutNotifier(p)
	return p, nil
}

// fillSessionEnd defaults and checks the options of logout and refresh:
// RefreshReuseGrace becomes the grace to apply (0: none).
func (o *Options) fillSessionEnd() error {
	switch {
	case o.RefreshReuseGrace == 0:
		o.RefreshReuseGrace = DefaultRefreshReuseGrace
	case o.RefreshReuseGrace < 0:
		o.RefreshReuseGrace = 0
	}
	if o.LogoutConfirmation == "" {
		o.LogoutConfirmation = ConfirmWithoutValidHint
	}
	if !slices.Contains(LogoutConfirmations, o.LogoutConfirmation) {
		return fmt.Errorf("oidc: logout confirmation %q is not one of %v", o.LogoutConfirmation, LogoutConfirmations)
	}
	return nil
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
		// CORS preflights (cors.go).
		"OPTIONS " + PathDiscovery, "OPTIONS " + PathJWKS, "OPTIONS " + PathToken,
		"OPTIONS " + PathUserinfo, "OPTIONS " + PathRevoke, "OPTIONS " + PathIntrospect,
	}
}

// Mount registers the provider's endpoints on mux (the public listener's,
// idp.Service.PublicHandler()). Those a browser application calls from its
// own origin answer with CORS headers (cors.go).
func (p *Provider) Mount(mux *http.ServeMux) {
	get, getPost, post := []string{http.MethodGet}, []string{http.MethodGet, http.MethodPost}, []string{http.MethodPost}
	handlers := []http.HandlerFunc{
		p.withCORS(EndpointDiscovery, p.discovery), p.withCORS(EndpointJWKS, p.jwks),
		p.authorize, p.authorize,
		p.withCORS(EndpointToken, p.token),
		p.withCORS(EndpointUserinfo, p.userinfo), p.withCORS(EndpointUserinfo, p.userinfo),
		p.withCORS(EndpointRevoke, p.revoke), p.withCORS(EndpointIntrospect, p.introspect),
		p.preflight(EndpointDiscovery, get...), p.preflight(EndpointJWKS, get...), p.preflight(EndpointToken, post...),
		p.preflight(EndpointUserinfo, getPost...), p.preflight(EndpointRevoke, post...), p.preflight(EndpointIntrospect, post...),
	}
	for i, pattern := range Routes() {
		mux.HandleFunc(pattern, handlers[i])
	}
}

// newSecret returns a fresh 256-bit random token (codes, refresh tokens,
// token ids, families).
func (p *Provider) newSecret() (string, error) { return sessions.NewID(p.rand) }

// discovery serves the OpenID Provider metadata.
func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(p.discoveryJSON())
}

// Metadata returns the discovery document, for the entity configuration
// of a federation (idp/oidc/federation).
func (p *Provider) Metadata() map[string]any { return p.metadata() }

// PublicKeys returns the token signing keys /jwks publishes, for the
// openid_provider metadata of a federation entity configuration.
func (p *Provider) PublicKeys() jwk.Set { return p.keys().public }

// metadata is the discovery document.
func (p *Provider) metadata() map[string]any {
	iss := p.issuer
	meta := map[string]any{
		"issuer":                                                   iss,
		"authorization_endpoint":                                   iss + PathAuthorize,
		"token_endpoint":                                           iss + PathToken,
		"userinfo_endpoint":                                        iss + PathUserinfo,
		"jwks_uri":                                                 iss + PathJWKS,
		"end_session_endpoint":                                     iss + PathEndSession,
		"revocation_endpoint":                                      iss + PathRevoke,
		"introspection_endpoint":                                   iss + PathIntrospect,
		"scopes_supported":                                         append(slices.Clone(supportedScopes), ScopeOfflineAccess),
		"response_types_supported":                                 []string{"code"},
		"response_modes_supported":                                 []string{"query", "form_post"},
		"grant_types_supported":                                    []string{"authorization_code", "refresh_token"},
		"subject_types_supported":                                  []SubjectType{SubjectPairwise, SubjectPublic},
		"id_token_signing_alg_values_supported":                    p.keys().algs,
		"userinfo_signing_alg_values_supported":                    p.keys().algs,
		"token_endpoint_auth_methods_supported":                    authMethods,
		"token_endpoint_auth_signing_alg_values_supported":         assertionAlgs,
		"revocation_endpoint_auth_methods_supported":               authMethods,
		"revocation_endpoint_auth_signing_alg_values_supported":    assertionAlgs,
		"introspection_endpoint_auth_methods_supported":            authMethods,
		"introspection_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"code_challenge_methods_supported":                         []string{"S256"},
		"claims_supported":                                         claimsSupported,
		"acr_values_supported":                                     p.acrLevels,
		"prompt_values_supported":                                  []string{"none", "login", "consent"},
		"claims_parameter_supported":                               true,
		"request_parameter_supported":                              true,
		"request_object_signing_alg_values_supported":              requestObjectAlgs,
		"request_authentication_methods_supported":                 map[string][]string{"authorization_endpoint": {"request_object"}},
		"request_authentication_signing_alg_values_supported":      signedRequestAlgs,
		"userinfo_encryption_alg_values_supported":                 KeyEncryptionAlgs,
		"userinfo_encryption_enc_values_supported":                 ContentEncryptionAlgs,
		"id_token_encryption_alg_values_supported":                 KeyEncryptionAlgs,
		"id_token_encryption_enc_values_supported":                 ContentEncryptionAlgs,
		"request_uri_parameter_supported":                          false,
		"require_request_uri_registration":                         false,
		"authorization_response_iss_parameter_supported":           true,
		"backchannel_logout_supported":                             true,
		"backchannel_logout_session_supported":                     true,
		"frontchannel_logout_supported":                            false,
		"ui_locales_supported":                                     []string{"it", "en"},
	}
	return meta
}

// encodeOnce returns v's JSON encoding, computed at the first call.
func encodeOnce(v func() any) func() []byte {
	return sync.OnceValue(func() []byte {
		var b bytes.Buffer
		_ = json.NewEncoder(&b).Encode(v())
		return b.Bytes()
	})
}

// jwks publishes every signing key.
func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, jwks := p.keys().publishedAt(p.now())
	_, _ = w.Write(jwks)
}
