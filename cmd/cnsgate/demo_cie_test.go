package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/cnsgate/cnsgate/demo"
)

// TestDemoCIEExampleClient: the demo registers a cie-profile example
// client with keys it generated; its discovery carries the profile's
// metadata, and an RP holding those keys logs the demo citizen in with a
// signed request object (prompt=consent shows the data-release page), gets
// a code at its registered redirect_uri, redeems it with private_key_jwt,
// and decrypts the encrypted ID token to the namespaced fiscal number.
// The demo runs with its default configuration (login.confirm_release as
// the demo sets it): the page here is the one prompt=consent forces.
func TestDemoCIEExampleClient(t *testing.T) {
	d := startDemo(t)
	pub := d.cfg.Issuer
	b := d.browser(t, "citizen")
	var meta map[string]any
	if err := json.Unmarshal([]byte(fetch(t, b, "GET", pub+"/.well-known/openid-configuration", nil, "").body), &meta); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"request_object_signing_alg_values_supported": "RS256", "userinfo_encryption_alg_values_supported": "RSA-OAEP-256",
		"userinfo_encryption_enc_values_supported": "A256CBC-HS512", "id_token_encryption_alg_values_supported": "RSA-OAEP-256",
		"id_token_signing_alg_values_supported": "RS512", "claims_supported": "https://attributes.eid.gov.it/fiscal_number",
		"scopes_supported": "offline_access", "prompt_values_supported": "consent",
	} {
		list, _ := meta[k].([]any)
		if !slices.Contains(list, any(want)) {
			t.Fatalf("demo discovery %s = %v lacks %s", k, meta[k], want)
		}
	}
	if meta["request_parameter_supported"] != true {
		t.Fatalf("demo discovery: request_parameter_supported %v", meta["request_parameter_supported"])
	}
	sig, enc := demoKey(t, d.setup.CIEExampleKeyFiles()[0]), demoKey(t, d.setup.CIEExampleKeyFiles()[1])

	verifier, challenge, state, nonce := randomB64(), "", randomB64(), randomB64()
	sum := sha256.Sum256([]byte(verifier))
	challenge = base64.RawURLEncoding.EncodeToString(sum[:])
	now := time.Now()
	claims := map[string]any{"iss": demo.CIEExampleClientID, "aud": pub, "iat": now, "exp": now.Add(time.Minute), "jti": randomB64(),
		"client_id": demo.CIEExampleClientID, "response_type": "code", "scope": "openid profile", "redirect_uri": demo.CIEExampleRedirectURL,
		"state": state, "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256", "prompt": "consent login"}
	request := signClaims(t, claims, sig, jwa.RS256)
	q := url.Values{"client_id": {demo.CIEExampleClientID}, "response_type": {"code"}, "scope": {"openid profile"},
		"redirect_uri": {demo.CIEExampleRedirectURL}, "request": {request}}

	// The RP's callback is served by nobody: the browser stops there.
	rpHost := strings.TrimPrefix(strings.TrimSuffix(demo.CIEExampleRedirectURL, "/callback"), "https://")
	stop := *b
	stop.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == rpHost {
			return http.ErrUseLastResponse
		}
		return nil
	}
	gate := fetch(t, &stop, "GET", pub+"/authorize?"+q.Encode(), nil, "")
	release := fetch(t, &stop, "GET", field(t, hrefLoginRE, gate), nil, "")
	citizen, _ := d.setup.Card("citizen")
	mustContain(t, release, "Dati che saranno inviati al servizio", citizen.FiscalCode)
	form := url.Values{"csrf": {field(t, csrfFieldRE, release)}, "id": {field(t, releaseIDRE, release)}, "choice": {"continue"}}
	loc, err := url.Parse(postNoRedirect(t, &stop, pub+"/cns/release", form, pub))
	if err != nil || loc.Host != rpHost || loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("Continua redirected to %v (%v)", loc, err)
	}

	assertion := signClaims(t, map[string]any{"iss": demo.CIEExampleClientID, "sub": demo.CIEExampleClientID, "aud": pub + "/token",
		"iat": now, "exp": now.Add(time.Minute), "jti": randomB64()}, sig, jwa.RS256)
	resp, err := stop.PostForm(pub+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"code_verifier": {verifier}, "redirect_uri": {demo.CIEExampleRedirectURL}, "client_id": {demo.CIEExampleClientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var tokens struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(body, &tokens); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token %d: %s", resp.StatusCode, body)
	}
	inner, err := jwe.Decrypt([]byte(tokens.IDToken), jwe.WithKey(jwa.RSA_OAEP_256, enc))
	if err != nil {
		t.Fatalf("the example RP cannot decrypt its ID token: %v", err)
	}
	id, err := jwt.Parse(inner, jwt.WithVerify(false))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := id.Get("https://attributes.eid.gov.it/fiscal_number"); v != "TINIT-"+citizen.FiscalCode || id.Audience()[0] != demo.CIEExampleClientID {
		t.Fatalf("ID token: %v", id)
	}
	if v, _ := id.Get("nonce"); v != nonce {
		t.Fatalf("ID token nonce %v", v)
	}
}

// demoKey reads a private key the demo generated.
func demoKey(t *testing.T, path string) jwk.Key {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.ParseKey(data, jwk.WithPEM(true))
	if err != nil {
		t.Fatal(err)
	}
	_ = jwk.AssignKeyID(k)
	return k
}

func signClaims(t *testing.T, claims map[string]any, key jwk.Key, alg jwa.SignatureAlgorithm) string {
	t.Helper()
	tok := jwt.New()
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func randomB64() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
