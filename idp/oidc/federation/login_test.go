package federation_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/idptest"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/oidc/federation"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// server is cnsgate's login service with the OpenID Provider and its
// federation mounted, running over TLS on loopback, trusting the local
// federation's anchor.
type server struct {
	env  *idptest.Env
	logs *idptest.LogCapture
	fed  *federation.Federation
	rec  *recorder
}

func newServer(t *testing.T, f *localFed, mod func(*federation.Options), opMods ...func(*oidc.Options)) *server {
	t.Helper()
	s := &server{logs: &idptest.LogCapture{}}
	rsa, err := pemfile.GenerateKey(pemfile.AlgRS256)
	if err != nil {
		t.Fatal(err)
	}
	s.env = idptest.New(t, idptest.Options{
		Service: func(o *idp.Options) { o.ConfirmRelease = false },
		Logger:  slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Mount: func(e *idptest.Env) {
			fo := f.options(t, e.Public.URL)
			s.rec = fo.Recorder.(*recorder)
			fo.Entity = federation.Entity{OrganizationName: "cnsgate di prova", Contacts: []string{"federazione@cnsgate.example.it"}, HomepageURI: e.Public.URL}
			fo.TrustMarks = []federation.TrustMark{{Type: trustMarkType, JWT: f.trustMark(t, e.Public.URL)}}
			fo.Profile = "" // plain OpenID Connect; TestFederatedCIELogin runs the cie profile
			fo.Logger = e.Logger
			if mod != nil {
				mod(&fo)
			}
			var op *oidc.Provider
			fo.ProviderMetadata = func() map[string]any { return op.Metadata() }
			fo.ProviderKeys = func() jwk.Set { return op.PublicKeys() }
			s.fed, err = federation.New(fo)
			if err != nil {
				t.Fatal(err)
			}
			oo := oidc.Options{
				SigningKeys: []string{"rs256.pem"}, SubjectSalt: []byte("test-subject-salt-0123456789abcdef"),
				ResolveClient: s.fed.ResolveClient, Logger: e.Logger, Pages: e.Pages,
				HTTPClient: fo.HTTPClient,
				ReadFile:   func(string) ([]byte, error) { return rsa, nil },
			}
			for _, m := range opMods {
				m(&oo)
			}
			op, err = oidc.New(e.Service, e.Store, e.Ephemeral, oo)
			if err != nil {
				t.Fatal(err)
			}
			op.Mount(e.Mux)
			s.fed.Mount(e.Mux)
		},
	})
	return s
}

const trustMarkType = "https://ta.example.it/openid_provider/public"

// trustMark is the anchor's trust mark for sub.
func (f *localFed) trustMark(t *testing.T, sub string) string {
	t.Helper()
	h := jws.NewHeaders()
	_ = h.Set(jws.TypeKey, "trust-mark+jwt")
	_ = h.Set(jws.KeyIDKey, f.ta.key.KeyID())
	now := time.Now()
	b, _ := json.Marshal(map[string]any{"iss": f.ta.id, "sub": sub, "trust_mark_type": trustMarkType, "id": trustMarkType,
		"iat": now.Unix(), "exp": now.Add(24 * time.Hour).Unix()})
	out, err := jws.Sign(b, jws.WithKey(jwa.ES256, f.ta.key, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

var loginLinkRE = regexp.MustCompile(`href="([^"]*/cns/login\?req=[^"]+)"`)

// browser follows redirects within cnsgate and stops at the relying party.
func (s *server) browser(card *cnstest.Card, rp string) *http.Client {
	return &http.Client{Jar: idptest.NewJar(), Transport: s.env.Transport(card), Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), rp) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestFederatedLogin: a relying party known only through the local
// federation logs a citizen in: /authorize with its entity identifier as
// client_id, the card login, the code, /token authenticated by
// private_key_jwt with the key its federation metadata publishes, the ID
// token verified with cnsgate's /jwks.
func TestFederatedLogin(t *testing.T) {
	f := newLocalFed(t, nil)
	s := newServer(t, f, nil)
	card := s.env.CA.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S", GivenName: "MARIO", FamilyName: "ROSSI"})
	s.env.PreRegister(card)
	b := s.browser(card, f.rp.id)

	verifier := b64(random(32))
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {f.rp.id}, "redirect_uri": {f.rp.id + "/cb"},
		"scope": {"openid profile fiscal_number"}, "state": {b64(random(32))}, "nonce": {b64(random(32))},
		"code_challenge": {b64(sum[:])}, "code_challenge_method": {"S256"}}
	resp, body := get(t, b, s.env.Public.URL+"/authorize?"+q.Encode())
	if m := loginLinkRE.FindStringSubmatch(body); resp.StatusCode == http.StatusOK && m != nil {
		resp, body = get(t, b, strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), f.rp.id+"/cb?") || loc.Query().Get("code") == "" {
		t.Fatalf("authorization ended with %d %v:\n%s", resp.StatusCode, err, body)
	}
	if loc.Query().Get("state") != q.Get("state") {
		t.Fatalf("state not returned: %s", loc)
	}

	status, tok := s.token(t, f, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {f.rp.id + "/cb"}, "code_verifier": {verifier}}, f.rpKey)
	if status != http.StatusOK {
		t.Fatalf("/token answered %d: %v", status, tok)
	}
	idToken := s.verifyIDToken(t, tok["id_token"].(string), f.rp.id, q.Get("nonce"))
	fc, _ := idToken.Get("fiscal_number")
	t.Logf("federated login: code at %s, /token 200, ID token for aud %v sub %.8s… fiscal_number %v verified with /jwks; resolutions %v",
		f.rp.id+"/cb", idToken.Audience(), idToken.Subject(), fc, s.rec.n)
	if s.rec.count(federation.ResultResolved) != 1 || s.rec.count(federation.ResultCached) < 2 {
		t.Errorf("resolutions %v: want one resolved, then cached", s.rec.n)
	}
	// A key the federation does not publish for the relying party is
	// refused at /token.
	if status, body := s.token(t, f, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, newKey(t)); status != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("assertion signed by another key: %d %v", status, body)
	}
}

// TestFederatedRefusedClient: a relying party its intermediate no longer
// lists is refused at /authorize with the reason, and at /token as
// invalid_client, and the refusals are counted.
func TestFederatedRefusedClient(t *testing.T) {
	f := newLocalFed(t, nil)
	f.im.set(func(e *entity) { delete(e.subs, f.rp.id) })
	s := newServer(t, f, nil)
	q := url.Values{"response_type": {"code"}, "client_id": {f.rp.id}, "redirect_uri": {f.rp.id + "/cb"}, "scope": {"openid"},
		"state": {b64(random(32))}, "code_challenge": {b64(random(32))}, "code_challenge_method": {"S256"}}
	resp, body := get(t, s.browser(nil, f.rp.id), s.env.Public.URL+"/authorize?"+q.Encode())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Richiesta non valida") {
		t.Fatalf("/authorize answered %d:\n%s", resp.StatusCode, body)
	}
	if !slices.ContainsFunc(s.logs.Lines(), func(l string) bool {
		return strings.Contains(l, "client_id not registered") && strings.Contains(l, "answered 404")
	}) {
		t.Errorf("the refusal's reason is not logged:\n%s", strings.Join(s.logs.Lines(), "\n"))
	}
	status, tok := s.token(t, f, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {f.rp.id + "/cb"}, "code_verifier": {b64(random(32))}}, f.rpKey)
	desc, _ := tok["error_description"].(string)
	if status != http.StatusUnauthorized || tok["error"] != "invalid_client" || !strings.Contains(desc, "trust chain not resolved") {
		t.Fatalf("/token answered %d %v", status, tok)
	}
	if s.rec.count(federation.ResultRefused) != 2 {
		t.Errorf("refusals counted %v", s.rec.n)
	}
	t.Logf("/authorize 400, /token %d %s: %s", status, tok["error"], desc)
}

// token posts a token request authenticated by a private_key_jwt
// assertion of the relying party signed with key.
func (s *server) token(t *testing.T, f *localFed, form url.Values, key jwk.Key) (int, map[string]any) {
	t.Helper()
	now := time.Now()
	a, _ := jwt.NewBuilder().Issuer(f.rp.id).Subject(f.rp.id).Audience([]string{s.env.Public.URL + "/token"}).
		IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(b64(random(16))).Build()
	signed, err := jwt.Sign(a, jwt.WithKey(jwa.ES256, key))
	if err != nil {
		t.Fatal(err)
	}
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", string(signed))
	resp, err := s.env.Client().PostForm(s.env.Public.URL+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// verifyIDToken checks an ID token against the keys cnsgate's /jwks
// publishes, fetched over the network.
func (s *server) verifyIDToken(t *testing.T, raw, aud, nonce string) jwt.Token {
	t.Helper()
	_, body := get(t, s.env.Client(), s.env.Public.URL+"/jwks")
	set, err := jwk.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Parse([]byte(raw), jwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true)), jwt.WithValidate(true),
		jwt.WithIssuer(s.env.Public.URL), jwt.WithAudience(aud), jwt.WithClaimValue("nonce", nonce))
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	return tok
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
