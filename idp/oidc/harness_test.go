package oidc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/idptest"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// The harness runs the real card login over TLS on loopback, real stores
// (memory sessions, SQLite registry) and the provider mounted on the
// public mux, with a relying-party server that receives redirects,
// publishes a jwks_uri and takes back-channel logout tokens.

const (
	secretBasic = "s3cret-esenzioni-basic"
	secretPost  = "s3cret-post-client"
	testSalt    = "test-subject-salt-0123456789abcdef"
	citizenCF   = "RSSMRA85T10A562S"
)

// signingKeys are generated once: RSA generation is slow.
var signingKeys = sync.OnceValues(func() (map[string][]byte, error) {
	rs, err := pemfile.GenerateKey(pemfile.AlgRS256)
	if err != nil {
		return nil, err
	}
	es, err := pemfile.GenerateKey(pemfile.AlgES256)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{"rs256.pem": rs, "es256.pem": es}, nil
})

type harness struct {
	t        *testing.T
	env      *idptest.Env
	clock    *clock
	ca       *cnstest.CA
	svc      *idp.Service
	provider *oidc.Provider
	reg      *sqlstore.DB
	store    sessions.Store
	public   *httptest.Server
	cns      *httptest.Server
	rp       *rpServer
	roots    *x509.CertPool
	rec      *recorder
	// lastBrowser is the citizen's browser of a test that keeps one.
	lastBrowser *browser
	// clientKey signs private_key_jwt assertions of "jwt-inline" and
	// "jwt-uri".
	clientKey jwk.Key
}

type harnessOptions struct {
	keys []string // signing key files, default rs256.pem and es256.pem
	// noAlgClients leaves out the clients that registered a signing
	// algorithm (es256, ps256), for providers without the key they need.
	noAlgClients bool
	// realServers runs on Redis and PostgreSQL instead of memory and
	// SQLite (the test fails when they are unreachable).
	realServers bool
	// limits are the login service's idp.Limits; pendingMax, when set,
	// caps the pending requests of the memory store.
	limits     idp.Limits
	pendingMax int
	// ca issues the cards (default: idptest's), revocation is the
	// service's cache-only revocation lookup (default none).
	ca         *cnstest.CA
	revocation idp.RevocationCache
	// provider tweaks the provider's Options before New.
	provider func(*oidc.Options)
	// sessions, when set, makes the session store (two harnesses sharing
	// one Redis, as replicas do).
	sessions idptest.SessionsFunc
	// services are the login service's relying parties with their
	// audience (default none: every client open to all).
	services []idp.ServiceLink
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{}, rec: &recorder{tokens: map[string]int{}, logout: map[string]int{}, limited: map[string]int{}, ended: map[string]int{},
		cors: map[string]int{}, reuse: map[string]int{}}}
	h.rp = newRPServer(t)
	eo := idptest.Options{
		Sessions: idptest.MemorySessions(h.clock.Now),
		Recorder: h.rec,
		Service: func(so *idp.Options) {
			so.Now = h.clock.Now
			so.Delivery.Backoff = idp.ExponentialBackoff(10*time.Millisecond, time.Second)
			so.Limits = o.limits
			so.Services = o.services
		},
		Mount:      func(e *idptest.Env) { h.mount(e, o) },
		CA:         o.ca,
		Revocation: o.revocation,
	}
	if o.pendingMax > 0 {
		eo.Sessions = func(t *testing.T) (sessions.Store, sessions.Ephemeral) {
			m := sessions.NewMemory(sessions.MemoryOptions{Now: h.clock.Now, EphemeralLimits: map[string]int{idp.PendingNamespace: o.pendingMax}})
			t.Cleanup(func() { m.Close() })
			return m, m.Ephemeral()
		}
	}
	if o.realServers {
		eo.Sessions, eo.Registry = idptest.RedisSessions("oidc", h.clock.Now), "postgres"
	}
	if o.sessions != nil {
		eo.Sessions = o.sessions
	}
	e := idptest.New(t, eo)
	h.env, h.ca, h.svc, h.reg, h.store = e, e.CA, e.Service, e.Registry, e.Store
	h.public, h.cns, h.roots = e.Public, e.CNS, e.Roots
	return h
}

// mount builds the provider on the running service and mounts it on the
// public mux.
func (h *harness) mount(e *idptest.Env, o harnessOptions) {
	t := h.t
	e.Roots.AddCert(e.CNS.Certificate())
	e.Roots.AddCert(h.rp.srv.Certificate())
	h.roots = e.Roots
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h.clientKey, _ = jwk.FromRaw(raw)
	_ = jwk.AssignKeyID(h.clientKey)
	pub, _ := h.clientKey.PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	setJSON, _ := json.Marshal(set)
	h.rp.setJWKS(setJSON)

	keys, err := signingKeys()
	if err != nil {
		t.Fatal(err)
	}
	if o.keys == nil {
		o.keys = []string{"rs256.pem", "es256.pem"}
	}
	po := oidc.Options{
		SigningKeys: o.keys, SubjectSalt: []byte(testSalt), Clients: h.clients(string(setJSON), o.noAlgClients),
		Now: h.clock.Now, Logger: e.Logger, Recorder: h.rec, Pages: e.Pages,
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.roots}}},
		ReadFile:   func(name string) ([]byte, error) { return keys[name], nil },
	}
	if o.provider != nil {
		o.provider(&po)
	}
	h.provider, err = oidc.New(e.Service, e.Store, e.Ephemeral, po)
	if err != nil {
		t.Fatal(err)
	}
	h.provider.Mount(e.Mux)
}

// clients are the relying parties of every test, one per authentication
// method.
func (h *harness) clients(jwks string, noAlgClients bool) []oidc.Client {
	rp := h.rp.srv.URL
	base := func(id string) oidc.Client {
		return oidc.Client{
			ID: id, RedirectURIs: []string{rp + "/cb/" + id}, PostLogoutRedirectURIs: []string{rp + "/bye/" + id},
			BackchannelLogoutURI: rp + "/backchannel/" + id, SubjectType: oidc.SubjectPairwise,
		}
	}
	basic := base("esenzioni")
	basic.Secret, basic.AuthMethod = secretBasic, oidc.AuthClientSecretBasic
	post := base("post")
	post.Secret, post.AuthMethod = secretPost, oidc.AuthClientSecretPost
	post.Scopes = []string{"openid", "profile"}
	post.JWTAccessTokens = true // access_token_format: jwt
	inline := base("jwt-inline")
	inline.AuthMethod, inline.JWKS = oidc.AuthPrivateKeyJWT, jwks
	uri := base("jwt-uri")
	uri.AuthMethod, uri.JWKSURI = oidc.AuthPrivateKeyJWT, rp+"/jwks"
	native := base("native")
	native.AuthMethod, native.SubjectType = oidc.AuthNone, oidc.SubjectPublic
	native.RedirectURIs = append(native.RedirectURIs, "it.example.app:/callback")
	// Public clients that registered signing algorithms, and one that
	// wants no iss in its authorization responses.
	es := base("es256")
	es.AuthMethod, es.IDTokenSignedResponseAlg, es.UserinfoSignedResponseAlg = oidc.AuthNone, oidc.AlgES256, oidc.AlgES256
	ps := base("ps256")
	ps.AuthMethod, ps.IDTokenSignedResponseAlg, ps.UserinfoSignedResponseAlg = oidc.AuthNone, oidc.AlgPS256, oidc.AlgRS256
	noISS := base("noiss")
	noISS.AuthMethod, noISS.OmitResponseISS = oidc.AuthNone, true
	if noAlgClients {
		return []oidc.Client{basic, post, inline, uri, native, noISS}
	}
	return []oidc.Client{basic, post, inline, uri, native, es, ps, noISS}
}

// httpClient trusts the test servers and follows no redirect.
func (h *harness) httpClient() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.roots}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

// citizen returns a browser with a registered card of citizenCF.
func (h *harness) citizen() *browser { return h.browser(h.citizenCard()) }

// citizenCard issues and registers a card of citizenCF.
func (h *harness) citizenCard() *cnstest.Card {
	h.t.Helper()
	card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: citizenCF, GivenName: "MARIO", FamilyName: "ROSSI"})
	h.env.PreRegister(card)
	return card
}

// backchannel posts form to an endpoint with HTTP Basic client
// authentication (id "" sends none) and returns the status and body.
func (h *harness) backchannel(endpoint string, form url.Values, id, secret string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := h.httpClient().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
