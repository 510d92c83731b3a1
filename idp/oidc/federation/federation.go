package federation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/cnsgate/cnsgate/idp/oidc"
)

// Defaults of Options left at zero.
const (
	DefaultLifetime       = 24 * time.Hour
	DefaultMaxChainLength = 5
	DefaultFetchTimeout   = 5 * time.Second
	DefaultMaxStatement   = 64 << 10
)

// TrustAnchor is a trust anchor the provider accepts chains to: its entity
// identifier and its federation keys (a JWK Set, JSON), configured out of
// band.
type TrustAnchor struct {
	EntityID string
	JWKS     []byte
}

// TrustMark is a trust mark issued to the provider by someone else, as
// given: its type and the signed JWT.
type TrustMark struct {
	Type string
	JWT  string
}

// Entity is the provider's federation_entity metadata (OpenID Federation
// 1.0, 5.2.2).
type Entity struct {
	OrganizationName string
	Contacts         []string
	HomepageURI      string
	PolicyURI        string
	LogoURI          string
}

// Options configure the provider as a federation leaf entity.
type Options struct {
	// EntityID is the provider's entity identifier: its issuer.
	EntityID string
	// SigningKeys are PEM private keys (RSA or EC P-256), separate from the
	// token signing keys: the first signs, every one is published in the
	// entity configuration's jwks, so that a next key can be announced and
	// a retired one still verifies.
	SigningKeys    [][]byte
	AuthorityHints []string
	TrustAnchors   []TrustAnchor
	TrustMarks     []TrustMark
	Entity         Entity
	// Lifetime is the exp - iat of the entity configuration (default
	// DefaultLifetime).
	Lifetime time.Duration
	// ProviderMetadata is the provider's discovery document
	// (oidc.Provider.Metadata).
	ProviderMetadata func() map[string]any
	// ProviderKeys, when set, are the token signing keys
	// (oidc.Provider.PublicKeys), published inline as the openid_provider
	// metadata's jwks beside its jwks_uri, as the SPID and CIE id rules
	// want.
	ProviderKeys func() jwk.Set
	// Profile is given to every federated relying party ("" or "oidc",
	// "spid", "cie").
	Profile string
	// MaxChainLength caps the statements of a trust chain, the leaf's and
	// the anchor's entity configurations included (default
	// DefaultMaxChainLength).
	MaxChainLength int
	// FetchTimeout and MaxStatementBytes bound each fetch.
	FetchTimeout      time.Duration
	MaxStatementBytes int64
	// HTTPClient fetches the statements; its transport, an *http.Transport,
	// is cloned with a dialer refusing non-public addresses unless
	// AllowPrivateAddresses (a federation on an internal network, tests on
	// loopback).
	HTTPClient            *http.Client
	AllowPrivateAddresses bool
	Now                   func() time.Time
	Logger                *slog.Logger
	Recorder              Recorder
}

// Recorder counts trust chain resolutions; idp/metrics implements it.
type Recorder interface {
	// FederationResolution counts one resolution of a relying party's
	// trust chain with result ResultResolved, ResultCached or ResultRefused.
	FederationResolution(result string)
}

// The results of a resolution (labels of
// cnsgate_federation_resolutions_total).
const (
	ResultResolved = "resolved"
	ResultCached   = "cached"
	ResultRefused  = "refused"
)

type nopRecorder struct{}

func (nopRecorder) FederationResolution(string) {}

// Federation serves the provider's entity configuration and resolves the
// trust chains of relying parties that register automatically.
type Federation struct {
	o        Options
	signer   *signer
	anchors  map[string]*anchor
	fetch    *fetcher
	maxChain int

	mu      sync.Mutex
	cache   map[string]cached
	refused map[string]cached // the refusals of the last RefusalCache
	signed  struct {
		sync.Mutex
		jwt []byte
		at  time.Time
	}
}

// cached is a resolved client, valid until its chain expires, or a
// refusal, kept for RefusalCache.
type cached struct {
	client  *oidc.Client
	err     error
	expires time.Time
}

// RefusalCache is how long a refused client id is answered with the same
// refusal without fetching anything again: an unknown client_id costs
// cnsgate a few fetches, never one per request. At most maxRefused are
// kept.
const (
	RefusalCache = time.Minute
	maxRefused   = 10000
)

// New checks o and builds the federation.
func New(o Options) (*Federation, error) {
	if err := checkEntityID(o.EntityID); err != nil && !strings.HasPrefix(o.EntityID, "http://") {
		return nil, fmt.Errorf("federation: entity_id: %w", err)
	}
	fillDefaults(&o)
	s, err := newSigner(o.SigningKeys)
	if err != nil {
		return nil, err
	}
	client := o.HTTPClient
	if !o.AllowPrivateAddresses {
		if client, err = guardedClient(client, o.FetchTimeout); err != nil {
			return nil, err
		}
	}
	f := &Federation{o: o, signer: s, anchors: map[string]*anchor{}, maxChain: o.MaxChainLength,
		cache: map[string]cached{}, refused: map[string]cached{},
		fetch: &fetcher{client: client, maxBody: o.MaxStatementBytes, timeout: o.FetchTimeout, now: o.Now}}
	if len(o.TrustAnchors) == 0 {
		return nil, errors.New("federation: no trust anchor")
	}
	for _, ta := range o.TrustAnchors {
		set, err := jwk.Parse(ta.JWKS)
		if err != nil || set.Len() == 0 {
			return nil, fmt.Errorf("federation: trust anchor %s: jwks is not a JWK Set: %v", ta.EntityID, err)
		}
		f.anchors[ta.EntityID] = &anchor{id: ta.EntityID, keys: set}
	}
	return f, nil
}

func fillDefaults(o *Options) {
	if o.Lifetime <= 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.MaxChainLength <= 0 {
		o.MaxChainLength = DefaultMaxChainLength
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.MaxStatementBytes <= 0 {
		o.MaxStatementBytes = DefaultMaxStatement
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Recorder == nil {
		o.Recorder = nopRecorder{}
	}
	if o.ProviderMetadata == nil {
		o.ProviderMetadata = func() map[string]any { return map[string]any{} }
	}
}

// ResolveClient is the provider's oidc.Options.ResolveClient: a client id
// that is an entity identifier becomes a client when its trust chain
// resolves; the client is cached until the chain expires.
func (f *Federation) ResolveClient(ctx context.Context, id string) (*oidc.Client, error) {
	if checkEntityID(id) != nil {
		return nil, oidc.ErrUnknownClient
	}
	if c, ok := f.cached(id); ok {
		if c.err != nil {
			f.o.Recorder.FederationResolution(ResultRefused)
			return nil, c.err
		}
		f.o.Recorder.FederationResolution(ResultCached)
		return c.client, nil
	}
	ch, err := f.Resolve(ctx, id)
	var client *oidc.Client
	if err == nil {
		client, err = f.clientOf(ch)
	}
	if err != nil {
		f.o.Recorder.FederationResolution(ResultRefused)
		f.o.Logger.WarnContext(ctx, "federation: relying party refused", "client_id", id, "err", err)
		if ctx.Err() != nil {
			return nil, err // the caller gave up: nothing learnt about the chain
		}
		f.mu.Lock()
		if len(f.refused) >= maxRefused {
			clear(f.refused)
		}
		f.refused[id] = cached{err: err, expires: f.o.Now().Add(RefusalCache)}
		f.mu.Unlock()
		return nil, err
	}
	f.o.Recorder.FederationResolution(ResultResolved)
	f.o.Logger.InfoContext(ctx, "federation: relying party registered", "client_id", id, "trust_anchor", ch.Anchor,
		"expires", ch.Expires.UTC().Format(time.RFC3339))
	f.mu.Lock()
	f.cache[id] = cached{client: client, expires: ch.Expires}
	f.mu.Unlock()
	return client, nil
}

// cached returns the unexpired resolution or refusal of id, if any.
func (f *Federation) cached(id string) (cached, bool) {
	now := f.o.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range []map[string]cached{f.cache, f.refused} {
		if c, ok := m[id]; ok {
			if now.Before(c.expires) {
				return c, true
			}
			delete(m, id)
		}
	}
	return cached{}, false
}
