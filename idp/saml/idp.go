package saml

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
)

// Kind is the pending-request kind the identity provider resumes
// (idp.PendingRequest).
const Kind = "saml"

// The identity provider's paths on the public origin.
const (
	PathMetadata = "/saml/metadata"
	PathSSO      = "/saml/sso"
	PathSLO      = "/saml/slo"
)

// MinNameIDSaltLength is the shortest Options.NameIDSalt accepted.
const MinNameIDSaltLength = 32

// The defaults of Options.NotBeforeSkew, MetadataValidFor and
// MetadataCacheDuration.
const (
	DefaultNotBeforeSkew         = 60 * time.Second
	DefaultMetadataValidFor      = 30 * 24 * time.Hour
	DefaultMetadataCacheDuration = time.Hour
)

// Options are the identity provider's settings, collaborators and
// tunables; zero values take the defaults. cmd/cnsgate builds them from the
// saml section of the configuration.
type Options struct {
	// CertFile and KeyFile are the PEM signing certificate (published in
	// /saml/metadata, its chain after it) and private key, read with
	// ReadFile.
	CertFile string
	KeyFile  string
	// Signer, when set, is the private key of CertFile instead of KeyFile:
	// a key opened by idp/signer, such as one in a PKCS#11 token (HSM).
	Signer crypto.Signer
	// NextCertFile is the next signing certificate (PEM): published in
	// /saml/metadata beside CertFile so that service providers know it
	// before it signs; cnsgate never signs with it.
	NextCertFile string
	// ServiceProviders are the relying parties served.
	ServiceProviders []ServiceProvider
	// NameIDSalt keys the opaque identifiers derived from the citizen and
	// the session: persistent and transient NameIDs and SessionIndexes. The
	// same salt gives the same persistent NameIDs across restarts and
	// replicas. At least MinNameIDSaltLength bytes; required when service
	// providers are configured.
	NameIDSalt []byte
	// MetadataRefresh is how often metadata_url is fetched again (default
	// 1 h); a failed fetch is retried after min(MetadataRefresh, 1 min) and
	// the last good metadata serves until its validUntil.
	MetadataRefresh time.Duration
	// AssertionLifetime bounds the assertion's Conditions and bearer
	// confirmation (default 5 min).
	AssertionLifetime time.Duration
	// NotBeforeSkew sets the assertion's NotBefore this long before its
	// issue instant, for SPs whose clock runs behind (default 60 s; a
	// negative value sets it at the issue instant).
	NotBeforeSkew time.Duration
	// MetadataValidFor is the validUntil of /saml/metadata, counted from
	// each regeneration (default 30 days): an SP that saved the document
	// to a file keeps starting for that long. MetadataCacheDuration is
	// its cacheDuration and HTTP max-age, how often an SP that fetches it
	// should fetch it again (default 1 h); it is also how often the
	// document is regenerated and signed again.
	MetadataValidFor      time.Duration
	MetadataCacheDuration time.Duration
	// HTTPClient, Logger, Pages, ReadFile, Now and Rand take the defaults
	// of idp.ProtocolDeps. HTTPClient fetches metadata_url and delivers
	// back-channel LogoutRequests; Pages renders the error page; ReadFile
	// reads the key, certificate and metadata files.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Recorder   Recorder
	Pages      *web.Pages
	ReadFile   func(string) ([]byte, error)
	Now        func() time.Time
	Rand       io.Reader
}

// IdP is the SAML identity provider. Build it with New; mount its routes on
// the public listener with Mount; stop it with Close.
type IdP struct {
	issuer   string
	entityID string
	svc      *idp.Service
	store    sessions.Store
	eph      sessions.Ephemeral
	keys     *keyPair
	next     atomic.Pointer[x509.Certificate] // saml.next_cert_file: in the metadata, never signs; ReloadNextCert
	readFile func(string) ([]byte, error)
	sps      *providers
	idp      *crewjam.IdentityProvider
	salt     []byte
	lifetime time.Duration
	skew     time.Duration // NotBefore before the issue instant
	// metaValid and metaCache are the validUntil span and cacheDuration of
	// /saml/metadata.
	metaValid, metaCache time.Duration

	now      func() time.Time
	rand     io.Reader
	http     *http.Client
	logger   *slog.Logger
	recorder Recorder
	pages    *web.Pages
	meta     metadataCache

	wg       sync.WaitGroup
	quit     chan struct{} // closed by Close: the metadata refresh stops
	quitOnce sync.Once
}

var _ idp.LogoutNotifier = (*IdP)(nil)

// New builds the identity provider from o: it reads the key, the
// certificate and every metadata_file, fetches every metadata_url (a
// failure leaves that SP unavailable and is retried in the background), and
// registers with svc as the resumer of Kind and as a logout notifier. The
// entity id is svc.Issuer() + PathMetadata.
func New(svc *idp.Service, store sessions.Store, eph sessions.Ephemeral, o Options) (*IdP, error) {
	deps := idp.ProtocolDeps{Now: &o.Now, Rand: &o.Rand, HTTPClient: &o.HTTPClient, Logger: &o.Logger, ReadFile: &o.ReadFile, Pages: &o.Pages}
	if err := deps.Fill(); err != nil {
		return nil, err
	}
	if o.Recorder == nil {
		o.Recorder = NopRecorder{}
	}
	if o.MetadataRefresh <= 0 {
		o.MetadataRefresh = time.Hour
	}
	if o.AssertionLifetime <= 0 {
		o.AssertionLifetime = 5 * time.Minute
	}
	switch {
	case o.NotBeforeSkew == 0:
		o.NotBeforeSkew = DefaultNotBeforeSkew
	case o.NotBeforeSkew < 0:
		o.NotBeforeSkew = 0
	}
	if o.MetadataValidFor <= 0 {
		o.MetadataValidFor = DefaultMetadataValidFor
	}
	if o.MetadataCacheDuration <= 0 {
		o.MetadataCacheDuration = DefaultMetadataCacheDuration
	}
	if o.MetadataCacheDuration > o.MetadataValidFor {
		return nil, fmt.Errorf("saml: metadata cache duration %s exceeds its validity %s", o.MetadataCacheDuration, o.MetadataValidFor)
	}
	if len(o.ServiceProviders) > 0 && len(o.NameIDSalt) < MinNameIDSaltLength {
		return nil, fmt.Errorf("saml: a NameID salt of at least %d bytes is required when service providers are configured", MinNameIDSaltLength)
	}
	keys, err := loadSigningKeys(o)
	if err != nil {
		return nil, err
	}
	issuer := strings.TrimRight(svc.Issuer(), "/")
	p := &IdP{
		issuer: issuer, entityID: issuer + PathMetadata, svc: svc, store: store, eph: eph,
		keys: keys, readFile: o.ReadFile, salt: o.NameIDSalt, lifetime: o.AssertionLifetime, skew: o.NotBeforeSkew,
		metaValid: o.MetadataValidFor, metaCache: o.MetadataCacheDuration,
		now: o.Now, rand: o.Rand, http: o.HTTPClient, logger: o.Logger, recorder: o.Recorder, pages: o.Pages,
		quit: make(chan struct{}),
	}
	p.next.Store(keys.next)
	p.sps, err = newProviders(o.ServiceProviders, providerDeps{
		readFile: o.ReadFile, http: o.HTTPClient, now: o.Now, logger: o.Logger, refresh: o.MetadataRefresh,
	})
	if err != nil {
		return nil, err
	}
	// crewjam's IdentityProvider writes the metadata and signs Responses;
	// its handlers are not mounted (sso.go and slo.go serve the endpoints),
	// so it needs no session, service-provider or assertion provider.
	p.idp = &crewjam.IdentityProvider{
		Signer: keys.signer, Certificate: keys.cert, Intermediates: keys.chain,
		MetadataURL: mustURL(p.entityID), SSOURL: mustURL(issuer + PathSSO), LogoutURL: mustURL(issuer + PathSLO),
		SignatureMethod: keys.method,
	}
	if p.sps.remote() {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.sps.refreshLoop(p.quit, p.sps.failed)
		}()
	}
	svc.RegisterResumer(Kind, p.resume)
	svc.RegisterCanceller(Kind, p.cancel)
	svc.AddLogoutNotifier(p)
	return p, nil
}

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err) // the issuer was validated by config and idp
	}
	return *u
}

// EntityID is the identity provider's entity id, the URL of its metadata.
func (p *IdP) EntityID() string { return p.entityID }

// Routes lists the patterns Mount registers, for route labels of metrics.
func Routes() []string {
	return []string{
		"GET " + PathMetadata,
		"GET " + PathSSO, "POST " + PathSSO,
		"GET " + PathSLO, "POST " + PathSLO,
	}
}

// Mount registers the identity provider's endpoints on mux (the public
// listener's, idp.Service.PublicHandler()).
func (p *IdP) Mount(mux *http.ServeMux) {
	handlers := []http.HandlerFunc{p.serveMetadata, p.sso, p.sso, p.slo, p.slo}
	for i, pattern := range Routes() {
		mux.HandleFunc(pattern, handlers[i])
	}
}

// Close stops the metadata refresh and waits for it to return, until ctx
// ends. Logout deliveries belong to the login service (idp.Service.Close).
func (p *IdP) Close(ctx context.Context) error {
	p.quitOnce.Do(func() { close(p.quit) })
	select {
	case <-idp.Done(&p.wg):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newID returns a fresh identifier for a SAML message or assertion: an
// NCName ("_" and 40 hex digits) as xs:ID requires.
func (p *IdP) newID() (string, error) {
	b := make([]byte, 20)
	if _, err := io.ReadFull(p.rand, b); err != nil {
		return "", fmt.Errorf("saml: reading random id: %w", err)
	}
	return fmt.Sprintf("_%x", b), nil
}

// The kind counted by the Recorder (label of cnsgate_tokens_issued_total).
const TokenAssertion = "assertion"

// The kind and results of back-channel LogoutRequests (labels of
// cnsgate_logout_notifications_total), which the login service's
// logout-delivery engine counts.
const (
	NotificationSAML = idp.DeliverySAML
	ResultOK         = idp.DeliveryOK
	ResultFailed     = idp.DeliveryFailed
)

// Recorder counts what the identity provider issues; idp/metrics
// implements it with Prometheus. Every label comes from a bounded set: the
// kind above and the configured SP entity ids.
type Recorder interface {
	// TokenIssued counts one assertion (kind TokenAssertion) issued to the
	// SP client.
	TokenIssued(kind, client string)
}

// RefusalRecorder is the optional ability of a Recorder to count the
// requests the identity provider refuses, by a reason of RefusalReasons
// (label of cnsgate_saml_requests_refused_total); found by type assertion.
type RefusalRecorder interface {
	SAMLRequestRefused(reason string)
}

// RefusalReasons are the reasons a refused request is counted under, one
// per refusal error.
var RefusalReasons = []string{
	"unknown_sp", "metadata_unavailable", "too_large", "malformed", "unsigned", "bad_signature",
	"weak_algorithm", "destination", "stale", "replay", "acs",
}

// countRefusal counts a refusal by the reason of err; an outage or an
// internal error is not a refusal and is not counted here.
func (p *IdP) countRefusal(err error) {
	rr, ok := p.recorder.(RefusalRecorder)
	if !ok {
		return
	}
	for i, e := range refusals {
		if errors.Is(err, e) {
			rr.SAMLRequestRefused(RefusalReasons[i])
			return
		}
	}
}

// NopRecorder records nothing.
type NopRecorder struct{}

// TokenIssued implements Recorder.
func (NopRecorder) TokenIssued(string, string) {}

var _ Recorder = NopRecorder{}
