package federation_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/cnsgate/cnsgate/idp/oidc/federation"
	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// A local federation on loopback: every entity (trust anchor,
// intermediates, relying parties) is an HTTPS server publishing its entity
// configuration and, for superiors, a fetch endpoint answering subordinate
// statements, all signed here with jwx.

// entity is one member of the test federation.
type entity struct {
	t   *testing.T
	srv *httptest.Server
	id  string
	key jwk.Key // its federation key, private

	mu sync.Mutex
	// hints are its authority_hints; metadata its own metadata by type.
	hints    []string
	metadata map[string]any
	// subs are its subordinates, by entity id: the extra claims of the
	// statement about each (jwks defaults to the subordinate's key).
	subs map[string]map[string]any
	// life is exp - iat of what it signs (default an hour); signer, when
	// set, signs instead of key (a wrong key).
	life   time.Duration
	signer jwk.Key
	now    func() time.Time
}

func newKey(t *testing.T) jwk.Key {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := jwk.FromRaw(raw)
	_ = jwk.AssignKeyID(k)
	_ = k.Set(jwk.AlgorithmKey, jwa.ES256)
	return k
}

func publicSet(t *testing.T, keys ...jwk.Key) jwk.Set {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		if err != nil {
			t.Fatal(err)
		}
		_ = set.AddKey(pub)
	}
	return set
}

func jsonOf(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func newEntity(t *testing.T, now func() time.Time) *entity {
	e := &entity{t: t, key: newKey(t), subs: map[string]map[string]any{}, metadata: map[string]any{}, life: time.Hour, now: now}
	e.srv = httptest.NewTLSServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	e.id = e.srv.URL
	return e
}

// superior makes e a superior publishing a fetch endpoint.
func (e *entity) superior() *entity {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.metadata["federation_entity"] = map[string]any{"federation_fetch_endpoint": e.id + "/fetch", "organization_name": "test " + e.id}
	return e
}

// subordinate registers sub under e with extra claims of its statement.
func (e *entity) subordinate(sub *entity, extra map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if extra == nil {
		extra = map[string]any{}
	}
	e.subs[sub.id] = extra
	sub.mu.Lock()
	sub.hints = append(sub.hints, e.id)
	sub.mu.Unlock()
	_ = sub
}

func (e *entity) sign(claims map[string]any) []byte {
	h := jws.NewHeaders()
	_ = h.Set(jws.TypeKey, federation.StatementType)
	k := e.key
	if e.signer != nil {
		k = e.signer
	}
	_ = h.Set(jws.KeyIDKey, k.KeyID())
	b, _ := json.Marshal(claims)
	out, err := jws.Sign(b, jws.WithKey(jwa.ES256, k, jws.WithProtectedHeaders(h)))
	if err != nil {
		e.t.Error(err)
	}
	return out
}

func (e *entity) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	base := map[string]any{"iss": e.id, "iat": now.Unix(), "exp": now.Add(e.life).Unix()}
	switch r.URL.Path {
	case federation.PathConfiguration:
		c := maps.Clone(base)
		c["sub"], c["jwks"], c["metadata"] = e.id, jsonOf(e.t, publicSet(e.t, e.key)), e.metadata
		if len(e.hints) > 0 {
			c["authority_hints"] = e.hints
		}
		w.Header().Set("Content-Type", federation.ContentType)
		_, _ = w.Write(e.sign(c))
	case "/fetch":
		sub := r.URL.Query().Get("sub")
		extra, ok := e.subs[sub]
		if !ok {
			http.Error(w, `{"error":"not_found"}`, http.StatusNotFound)
			return
		}
		c := maps.Clone(base)
		c["sub"] = sub
		maps.Copy(c, extra)
		w.Header().Set("Content-Type", federation.ContentType)
		_, _ = w.Write(e.sign(c))
	default:
		http.NotFound(w, r)
	}
}

// set changes e under its lock.
func (e *entity) set(f func(e *entity)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(e)
}

// localFed is a trust anchor, an intermediate and a relying party whose
// openid_relying_party jwks holds rpKey (its OpenID Connect key, apart
// from its federation key).
type localFed struct {
	ta, im, rp *entity
	rpKey      jwk.Key
	roots      *x509.CertPool
	now        func() time.Time
}

// rpMetadata is what the test relying party says of itself.
func rpMetadata(t *testing.T, rp *entity, key jwk.Key) map[string]any {
	return map[string]any{
		"client_name":                "Servizio federato di prova",
		"redirect_uris":              []any{rp.id + "/cb"},
		"post_logout_redirect_uris":  []any{rp.id + "/bye"},
		"client_registration_types":  []any{"automatic"},
		"token_endpoint_auth_method": "private_key_jwt",
		"grant_types":                []any{"authorization_code", "refresh_token"},
		"response_types":             []any{"code"},
		"jwks":                       jsonOf(t, publicSet(t, key)),
		"contacts":                   []any{"ops@rp.example.it"},
	}
}

func newLocalFed(t *testing.T, now func() time.Time) *localFed {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	f := &localFed{now: now, rpKey: newKey(t)}
	f.ta = newEntity(t, now).superior()
	f.im = newEntity(t, now).superior()
	f.rp = newEntity(t, now)
	f.rp.metadata[federation.TypeRelyingParty] = rpMetadata(t, f.rp, f.rpKey)
	f.ta.subordinate(f.im, map[string]any{"jwks": jsonOf(t, publicSet(t, f.im.key))})
	f.im.subordinate(f.rp, map[string]any{"jwks": jsonOf(t, publicSet(t, f.rp.key))})
	f.roots = x509.NewCertPool()
	f.roots.AddCert(f.ta.srv.Certificate())
	return f
}

// federationKeys are PEM federation keys, generated once.
var federationKeys = sync.OnceValues(func() ([][]byte, error) {
	a, err := pemfile.GenerateKey(pemfile.AlgES256)
	if err != nil {
		return nil, err
	}
	b, err := pemfile.GenerateKey(pemfile.AlgRS256)
	return [][]byte{a, b}, err
})

// recorder counts resolutions by result.
type recorder struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *recorder) FederationResolution(result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[result]++
}

func (r *recorder) count(result string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[result]
}

// options are the provider's federation settings trusting f's anchor.
func (f *localFed) options(t *testing.T, entityID string) federation.Options {
	t.Helper()
	keys, err := federationKeys()
	if err != nil {
		t.Fatal(err)
	}
	taJWKS, _ := json.Marshal(publicSet(t, f.ta.key))
	return federation.Options{
		EntityID: entityID, SigningKeys: keys, AuthorityHints: []string{f.ta.id},
		TrustAnchors: []federation.TrustAnchor{{EntityID: f.ta.id, JWKS: taJWKS}},
		Now:          f.now, AllowPrivateAddresses: true, // the local federation is on loopback
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.roots}}},
		Recorder:   &recorder{n: map[string]int{}},
	}
}

func (f *localFed) federation(t *testing.T, mod func(*federation.Options)) *federation.Federation {
	t.Helper()
	o := f.options(t, "https://op.example.it")
	if mod != nil {
		mod(&o)
	}
	fed, err := federation.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return fed
}

func resolve(t *testing.T, fed *federation.Federation, id string) (*federation.Chain, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return fed.Resolve(ctx, id)
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
