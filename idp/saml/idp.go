package saml

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/config"
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

// Options are the identity provider's collaborators and tunables; zero
// values take the defaults.
type Options struct {
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
	// HTTPClient fetches metadata_url and delivers back-channel
	// LogoutRequests; default a client with a 10 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Recorder   Recorder
	// Pages renders the error page; built with web.New when nil.
	Pages *web.Pages
	// ReadFile reads the key, certificate and metadata files; default
	// os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// LogoutAttempts bounds the deliveries of one back-channel
	// LogoutRequest (default 3); LogoutBackoff is the wait before the first
	// retry, doubled at each (default 1 s).
	LogoutAttempts int
	LogoutBackoff  time.Duration
	// Now and Rand default to time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
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
	sps      *providers
	idp      *crewjam.IdentityProvider
	salt     []byte
	lifetime time.Duration

	now      func() time.Time
	rand     io.Reader
	http     *http.Client
	logger   *slog.Logger
	recorder Recorder
	pages    *web.Pages
	meta     metadataCache

	attempts int
	backoff  time.Duration
	wg       sync.WaitGroup
	quit     chan struct{} // closed by Close: the metadata refresh stops
	quitOnce sync.Once
	stop     chan struct{} // closed when Close gives up: deliveries stop retrying
	stopOnce sync.Once
}

var (
	_ idp.LogoutNotifier              = (*IdP)(nil)
	_ crewjam.SessionProvider         = (*IdP)(nil)
	_ crewjam.ServiceProviderProvider = (*providers)(nil)
	_ crewjam.AssertionMaker          = assertionMaker{}
)

// New builds the identity provider from the saml section of the
// configuration: it reads the key, the certificate and every metadata_file,
// fetches every metadata_url (a failure leaves that SP unavailable and is
// retried in the background), and registers with svc as the resumer of
// Kind and as a logout notifier. The entity id is svc.Issuer() +
// PathMetadata.
func New(cfg config.SAML, svc *idp.Service, store sessions.Store, eph sessions.Ephemeral, o Options) (*IdP, error) {
	if err := o.fillDefaults(); err != nil {
		return nil, err
	}
	if len(cfg.ServiceProviders) > 0 && len(o.NameIDSalt) < MinNameIDSaltLength {
		return nil, fmt.Errorf("saml: a NameID salt of at least %d bytes is required when service providers are configured", MinNameIDSaltLength)
	}
	keys, err := loadKeyPair(o.ReadFile, cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	issuer := strings.TrimRight(svc.Issuer(), "/")
	p := &IdP{
		issuer: issuer, entityID: issuer + PathMetadata, svc: svc, store: store, eph: eph,
		keys: keys, salt: o.NameIDSalt, lifetime: o.AssertionLifetime,
		now: o.Now, rand: o.Rand, http: o.HTTPClient, logger: o.Logger, recorder: o.Recorder, pages: o.Pages,
		attempts: o.LogoutAttempts, backoff: o.LogoutBackoff, quit: make(chan struct{}), stop: make(chan struct{}),
	}
	p.sps, err = newProviders(cfg.ServiceProviders, providerDeps{
		readFile: o.ReadFile, http: o.HTTPClient, now: o.Now, logger: o.Logger, refresh: o.MetadataRefresh,
	})
	if err != nil {
		return nil, err
	}
	p.idp = &crewjam.IdentityProvider{
		Signer: keys.signer, Certificate: keys.cert, Intermediates: keys.chain,
		MetadataURL: mustURL(p.entityID), SSOURL: mustURL(issuer + PathSSO), LogoutURL: mustURL(issuer + PathSLO),
		ServiceProviderProvider: p.sps, SessionProvider: p, AssertionMaker: assertionMaker{p},
		SignatureMethod: keys.method, Logger: slogLogger{o.Logger},
	}
	if p.sps.remote() {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.sps.refreshLoop(p.quit, p.sps.failed)
		}()
	}
	svc.RegisterResumer(Kind, p.resume)
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
	if o.MetadataRefresh <= 0 {
		o.MetadataRefresh = time.Hour
	}
	if o.AssertionLifetime <= 0 {
		o.AssertionLifetime = 5 * time.Minute
	}
	if o.LogoutAttempts <= 0 {
		o.LogoutAttempts = 3
	}
	if o.LogoutBackoff <= 0 {
		o.LogoutBackoff = time.Second
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

// Close stops the metadata refresh and waits for the back-channel logout
// deliveries under way; when ctx ends first, their remaining retries are
// abandoned.
func (p *IdP) Close(ctx context.Context) error {
	p.quitOnce.Do(func() { close(p.quit) })
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

// newID returns a fresh identifier for a SAML message or assertion: an
// NCName ("_" and 40 hex digits) as xs:ID requires.
func (p *IdP) newID() (string, error) {
	b := make([]byte, 20)
	if _, err := io.ReadFull(p.rand, b); err != nil {
		return "", fmt.Errorf("saml: reading random id: %w", err)
	}
	return fmt.Sprintf("_%x", b), nil
}

// slogLogger adapts slog to crewjam's logger.Interface; crewjam logs only
// from code paths cnsgate does not use.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Printf(format string, v ...any) { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s slogLogger) Print(v ...any)                 { s.l.Warn(fmt.Sprint(v...)) }
func (s slogLogger) Println(v ...any)               { s.l.Warn(fmt.Sprint(v...)) }
func (s slogLogger) Fatal(v ...any)                 { s.l.Error(fmt.Sprint(v...)) }
func (s slogLogger) Fatalf(format string, v ...any) { s.l.Error(fmt.Sprintf(format, v...)) }
func (s slogLogger) Fatalln(v ...any)               { s.l.Error(fmt.Sprint(v...)) }
func (s slogLogger) Panic(v ...any)                 { s.l.Error(fmt.Sprint(v...)) }
func (s slogLogger) Panicf(format string, v ...any) { s.l.Error(fmt.Sprintf(format, v...)) }
func (s slogLogger) Panicln(v ...any)               { s.l.Error(fmt.Sprint(v...)) }

// Kinds and results counted by the Recorder (labels of
// cnsgate_tokens_issued_total and cnsgate_logout_notifications_total).
const (
	TokenAssertion   = "assertion"
	NotificationSAML = "saml"
	ResultOK         = "ok"
	ResultFailed     = "failed"
)

// Recorder counts what the identity provider issues and sends; idp/metrics
// implements it with Prometheus. Every label comes from a bounded set: the
// kinds above and the configured SP entity ids.
type Recorder interface {
	// TokenIssued counts one assertion (kind TokenAssertion) issued to the
	// SP client.
	TokenIssued(kind, client string)
	// LogoutNotification counts one back-channel LogoutRequest after its
	// last attempt: kind NotificationSAML, result ResultOK or ResultFailed.
	LogoutNotification(kind, result string)
}

// NopRecorder records nothing.
type NopRecorder struct{}

// TokenIssued implements Recorder.
func (NopRecorder) TokenIssued(string, string) {}

// LogoutNotification implements Recorder.
func (NopRecorder) LogoutNotification(string, string) {}

var _ Recorder = NopRecorder{}
