package oidc_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/oidc/oidctest"
)

// The relying parties of the Italian profiles in these tests: a cie one
// that also wants its ID tokens encrypted, a spid one with RS512 ID
// tokens, both with
// private_key_jwt and an inline JWK Set holding a signing key (request
// objects, client assertions) and an encryption key (userinfo, ID tokens),
// as an RP built on spid-cie-oidc publishes them.
const (
	cieRP    = "cie-rp"
	spidRP   = "spid-rp"
	levelL1  = "https://www.spid.gov.it/SpidL1"
	levelL2  = "https://www.spid.gov.it/SpidL2"
	levelL3  = "https://www.spid.gov.it/SpidL3"
	nsFiscal = "https://attributes.eid.gov.it/fiscal_number"
)

// profileKeys are the RP's private keys, generated once (RSA is slow).
type profileKeys struct {
	sig, enc jwk.Key // private, with kid and use
	jwks     string  // the public halves, the client's jwks
}

var rpKeys = sync.OnceValues(func() (profileKeys, error) {
	var out profileKeys
	set := jwk.NewSet()
	for _, k := range []struct {
		dst *jwk.Key
		use jwk.KeyUsageType
	}{{&out.sig, jwk.ForSignature}, {&out.enc, jwk.ForEncryption}} {
		raw, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return out, err
		}
		key, _ := jwk.FromRaw(raw)
		_ = jwk.AssignKeyID(key)
		_ = key.Set(jwk.KeyUsageKey, k.use)
		*k.dst = key
		pub, _ := key.PublicKey()
		_ = set.AddKey(pub)
	}
	b, err := json.Marshal(set)
	out.jwks = string(b)
	return out, err
})

// profileHarness is the harness with the cie and spid clients added and
// SpidL2 among the levels a card login meets.
func profileHarness(t *testing.T, realServers bool) (*harness, profileKeys) {
	t.Helper()
	keys, err := rpKeys()
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{realServers: realServers, provider: func(o *oidc.Options) {
		rp := strings.TrimSuffix(o.Clients[0].RedirectURIs[0], "/cb/esenzioni")
		o.ACRLevels = []string{levelL2}
		for _, id := range []string{cieRP, spidRP} {
			c := oidc.Client{ID: id, Name: "Servizio " + id, RedirectURIs: []string{rp + "/cb/" + id},
				AuthMethod: oidc.AuthPrivateKeyJWT, JWKS: keys.jwks, Profile: strings.TrimSuffix(id, "-rp")}
			if id == cieRP {
				c.IDTokenEncryptedResponseAlg, c.IDTokenEncryptedResponseEnc = "RSA-OAEP-256", "A128CBC-HS256"
			} else {
				c.IDTokenSignedResponseAlg = oidc.AlgRS512
			}
			o.Clients = append(o.Clients, c)
		}
	}})
	return h, keys
}

// random32 is a random base64url string of 43 characters: state, nonce,
// jti.
func random32() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// profileRequest is an authorization request of a profile client: its
// request object, signed by key with alg, with the claims the rules
// require, changed by set (a nil value removes a claim); the same scope
// beside it. It returns the URL, the PKCE verifier, the state and the
// nonce.
type profileRequest struct {
	url, verifier, state, nonce string
}

func (h *harness) profileRequest(client string, key jwk.Key, alg jwa.SignatureAlgorithm, set map[string]any) profileRequest {
	h.t.Helper()
	verifier, challenge := newVerifier()
	now := h.clock.Now()
	claims := map[string]any{
		"iss": client, "aud": h.public.URL, "iat": now, "exp": now.Add(time.Minute), "jti": random32(),
		"client_id": client, "response_type": "code", "scope": "openid profile",
		"redirect_uri": h.rp.srv.URL + "/cb/" + client, "state": random32(), "nonce": random32(),
		"code_challenge": challenge, "code_challenge_method": "S256", "prompt": "consent login",
		"acr_values": levelL2,
	}
	for k, v := range set {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	signed, err := oidctest.RequestObject(claims, key, alg)
	if err != nil {
		h.t.Fatal(err)
	}
	scope, _ := claims["scope"].(string)
	q := url.Values{"client_id": {client}, "response_type": {"code"}, "scope": {scope}, "request": {signed},
		"redirect_uri": {h.rp.srv.URL + "/cb/" + client}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	state, _ := claims["state"].(string)
	nonce, _ := claims["nonce"].(string)
	return profileRequest{url: h.public.URL + "/authorize?" + q.Encode(), verifier: verifier, state: state, nonce: nonce}
}

var releaseIDRE = regexp.MustCompile(`name="id" value="([^"]+)"`)

// authorizeWithConsent logs in with the card; when the data-release page
// is shown it checks that it lists want and answers "Continua". It
// returns the redirect to the relying party and whether the page was
// shown.
func (b *browser) authorizeWithConsent(authURL string, want ...string) (*url.URL, bool) {
	t := b.h.t
	t.Helper()
	r := b.get(authURL)
	if m := loginLinkRE.FindStringSubmatch(r.body); r.status == http.StatusOK && m != nil {
		r = b.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	if r.location != nil {
		return r.location, false
	}
	id, csrf := releaseIDRE.FindStringSubmatch(r.body), csrfRE.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || id == nil || csrf == nil {
		t.Fatalf("authorization ended with %d, neither a redirect nor the data-release page:\n%s", r.status, r.body)
	}
	for _, w := range want {
		if !strings.Contains(r.body, w) {
			t.Fatalf("the data-release page does not list %q:\n%s", w, r.body)
		}
	}
	r = b.post(b.h.public.URL+"/cns/release", url.Values{"csrf": {csrf[1]}, "id": {id[1]}, "choice": {"continue"}})
	if r.location == nil {
		t.Fatalf("data-release page answered %d without a redirect:\n%s", r.status, r.body)
	}
	return r.location, true
}

// profileExchange redeems a code with a private_key_jwt assertion signed
// by the RP's RSA key.
func (h *harness) profileExchange(client, code, verifier string, keys profileKeys) (int, map[string]any) {
	return h.profileToken(client, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {h.rp.srv.URL + "/cb/" + client}}, keys)
}

// profileToken posts a token request of client (private_key_jwt).
func (h *harness) profileToken(client string, form url.Values, keys profileKeys) (int, map[string]any) {
	h.t.Helper()
	now := h.clock.Now()
	tok, _ := jwt.NewBuilder().Issuer(client).Subject(client).Audience([]string{h.public.URL + "/token"}).
		IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(random32()).Build()
	assertion, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256, keys.sig))
	if err != nil {
		h.t.Fatal(err)
	}
	form.Set("client_id", client)
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", string(assertion))
	return h.postJSON("/token", form, "", "")
}

// providerKeys fetches the provider's /jwks, as the RP does.
func (h *harness) providerKeys() jwk.Set {
	h.t.Helper()
	resp, err := h.httpClient().Get(h.public.URL + "/jwks")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	set, err := jwk.Parse(body)
	if err != nil {
		h.t.Fatal(err)
	}
	return set
}

// openNested decrypts a nested JWT with the RP's encryption key, checks
// its cty JWT, and verifies the inner signature against the provider's
// keys, as the RP does: it returns the claims.
func (h *harness) openNested(raw string, keys profileKeys, enc string) map[string]any {
	h.t.Helper()
	n, err := oidctest.OpenNested(h.t.Context(), raw, keys.enc, h.providerKeys(), h.public.URL, h.clock.Now)
	if err != nil {
		h.t.Fatal(err)
	}
	if got := n.Header.ContentEncryption().String(); got != enc {
		h.t.Fatalf("JWE enc %s, want %s", got, enc)
	}
	return n.Claims
}

// userinfoRaw calls /userinfo and returns the status, Content-Type and body.
func (h *harness) userinfoRaw(token string) (int, string, string) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.public.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := h.httpClient().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

var uuid4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
