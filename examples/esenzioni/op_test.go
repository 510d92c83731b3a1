package esenzioni

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
)

const (
	testClientID = "esenzioni"
	testSecret   = "a-client-secret"
	testKeyID    = "k1"
	testSID      = "sid-1"
	testCF       = "VRDNNA90D45L219X"
)

// fakeOP is an OpenID Provider for the relying party's tests: go-oidc's
// oidctest serves the keys; discovery, /authorize and /token are written
// here, checking what a provider must (PKCE S256, client secret).
type fakeOP struct {
	t   *testing.T
	srv *httptest.Server
	key *ecdsa.PrivateKey
	mu  sync.Mutex
	// codes issued by /authorize: code -> what /token must check.
	codes map[string]authRequest
	// refresh tokens issued and not yet used; ended makes /token refuse
	// them all, as cnsgate does once the citizen's session has ended.
	refresh map[string]bool
	ended   bool
	// refreshes counts the refresh_token grants answered; refreshDelay
	// slows each down.
	refreshes    int
	refreshDelay time.Duration
	// idTokenEdit, when set, changes the ID token claims /token signs.
	idTokenEdit func(map[string]any)
}

type authRequest struct {
	challenge, nonce, redirect string
}

func newFakeOP(t *testing.T) *fakeOP {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	op := &fakeOP{t: t, key: key, codes: map[string]authRequest{}, refresh: map[string]bool{}}
	keys := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: testKeyID, Algorithm: gooidc.ES256}},
		Algorithms: []string{gooidc.ES256}}
	mux := http.NewServeMux()
	mux.Handle("GET /keys", keys)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := op.srv.URL
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
			"jwks_uri": iss + "/keys", "end_session_endpoint": iss + "/logout",
			"id_token_signing_alg_values_supported": []string{"ES256"}, "response_types_supported": []string{"code"},
		})
	})
	mux.HandleFunc("GET /authorize", op.authorize)
	mux.HandleFunc("POST /token", op.token)
	op.srv = httptest.NewTLSServer(mux)
	keys.SetIssuer(op.srv.URL)
	t.Cleanup(op.srv.Close)
	return op
}

func (op *fakeOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != testClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" || !strings.Contains(q.Get("scope"), "fiscal_number") {
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	code := rand.Text()
	op.mu.Lock()
	op.codes[code] = authRequest{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri")}
	op.mu.Unlock()
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

// token answers the authorization_code grant (PKCE S256, redirect_uri)
// and the refresh_token grant (each refresh token once), both with
// client_secret_basic; a refreshed ID token has no nonce, as cnsgate's.
func (op *fakeOP) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != testClientID || secret != testSecret || r.PostFormValue("client_secret") != "" {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	if r.PostFormValue("grant_type") == "refresh_token" {
		op.mu.Lock()
		d := op.refreshDelay
		op.mu.Unlock()
		time.Sleep(d)
	}
	nonce, ok := op.grant(r)
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant"}`)
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": op.srv.URL, "aud": testClientID, "sub": "pairwise-sub", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"sid": testSID, "fiscal_number": "TINIT-" + testCF, "given_name": "ANNA", "family_name": "VERDI",
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if op.idTokenEdit != nil {
		op.idTokenEdit(claims)
	}
	refresh := rand.Text()
	op.mu.Lock()
	op.refresh[refresh] = true
	op.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": "at", "token_type": "Bearer", "expires_in": 300, "refresh_token": refresh,
		"id_token": op.sign(claims, "JWT", op.key),
	})
}

// grant checks the grant of a token request and returns the nonce the ID
// token must carry ("" for a refresh).
func (op *fakeOP) grant(r *http.Request) (nonce string, ok bool) {
	op.mu.Lock()
	defer op.mu.Unlock()
	switch r.PostFormValue("grant_type") {
	case "authorization_code":
		req, found := op.codes[r.PostFormValue("code")]
		delete(op.codes, r.PostFormValue("code"))
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		return req.nonce, found && base64.RawURLEncoding.EncodeToString(sum[:]) == req.challenge && r.PostFormValue("redirect_uri") == req.redirect
	case "refresh_token":
		rt := r.PostFormValue("refresh_token")
		found := op.refresh[rt]
		delete(op.refresh, rt)
		op.refreshes++
		return "", found && !op.ended
	}
	return "", false
}

// sign returns a compact JWS of claims signed by key under the provider's
// key id, with the given typ header ("" for none).
func (op *fakeOP) sign(claims map[string]any, typ string, key *ecdsa.PrivateKey) string {
	op.t.Helper()
	body, err := json.Marshal(claims)
	if err != nil {
		op.t.Fatal(err)
	}
	header := map[string]string{"alg": "ES256", "kid": testKeyID}
	if typ != "" {
		header["typ"] = typ
	}
	head, _ := json.Marshal(header)
	input := base64.RawURLEncoding.EncodeToString(head) + "." + base64.RawURLEncoding.EncodeToString(body)
	return input + "." + es256(op.t, key, input)
}

func es256(t *testing.T, key *ecdsa.PrivateKey, input string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return base64.RawURLEncoding.EncodeToString(sig)
}

// newTestApp starts the relying party against op, served over TLS; edit,
// when given, changes its configuration first.
func newTestApp(t *testing.T, op *fakeOP, edit ...func(*Config)) (*App, *httptest.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + ln.Addr().String()
	cfg := Config{
		Issuer: op.srv.URL, ClientID: testClientID, ClientSecret: testSecret,
		RedirectURL: base + "/callback", PostLogoutRedirectURL: base + "/logged-out", BackchannelLogoutURL: base + "/backchannel-logout",
		HTTPClient: op.srv.Client(),
	}
	for _, e := range edit {
		e(&cfg)
	}
	app, err := New(t.Context(), cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	rp := &httptest.Server{Listener: ln, Config: &http.Server{Handler: app}}
	rp.StartTLS()
	t.Cleanup(rp.Close)
	return app, rp
}
