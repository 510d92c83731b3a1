package federation_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/oidc/federation"
	"github.com/cnsgate/cnsgate/idp/oidc/oidctest"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

const (
	levelL2  = "https://www.spid.gov.it/SpidL2"
	nsFiscal = "https://attributes.eid.gov.it/fiscal_number"
)

var (
	releaseIDRE = regexp.MustCompile(`name="id" value="([^"]+)"`)
	csrfRE      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// cieRP makes the local federation's relying party one of the CIE id
// rules: its openid_relying_party jwks holds its signing key (use sig:
// request objects, client assertions) and an RSA encryption key (use
// enc), and it registers encrypted ID tokens and userinfo responses. It
// returns the private encryption key.
func (f *localFed) cieRP(t *testing.T) jwk.Key {
	t.Helper()
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := jwk.FromRaw(raw)
	_ = jwk.AssignKeyID(enc)
	_ = enc.Set(jwk.KeyUsageKey, jwk.ForEncryption)
	_ = f.rpKey.Set(jwk.KeyUsageKey, jwk.ForSignature)
	f.rp.set(func(e *entity) {
		md := e.metadata[federation.TypeRelyingParty].(map[string]any)
		md["jwks"] = jsonOf(t, publicSet(t, f.rpKey, enc))
		md["id_token_encrypted_response_alg"], md["id_token_encrypted_response_enc"] = "RSA-OAEP-256", "A128CBC-HS256"
		md["userinfo_encrypted_response_alg"], md["userinfo_encrypted_response_enc"] = "RSA-OAEP-256", "A256CBC-HS512"
	})
	return enc
}

// cieRequest is the /authorize URL of a request object the relying party
// signs with its federation-published key, with what the CIE id rules
// require; the state, nonce and PKCE verifier.
func (s *server) cieRequest(t *testing.T, f *localFed) (authURL, state, nonce, verifier string) {
	t.Helper()
	verifier = b64(random(32))
	sum := sha256.Sum256([]byte(verifier))
	now := time.Now()
	state, nonce = b64(random(32)), b64(random(32))
	claims := map[string]any{
		"iss": f.rp.id, "aud": s.env.Public.URL, "iat": now, "exp": now.Add(time.Minute), "jti": b64(random(32)),
		"client_id": f.rp.id, "response_type": "code", "scope": "openid profile offline_access",
		"redirect_uri": f.rp.id + "/cb", "state": state, "nonce": nonce,
		"code_challenge": b64(sum[:]), "code_challenge_method": "S256", "prompt": "consent login", "acr_values": levelL2,
	}
	signed, err := oidctest.RequestObject(claims, f.rpKey, jwa.ES256)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"client_id": {f.rp.id}, "response_type": {"code"}, "scope": {"openid profile offline_access"},
		"redirect_uri": {f.rp.id + "/cb"}, "code_challenge": {b64(sum[:])}, "code_challenge_method": {"S256"}, "request": {signed}}
	return s.env.Public.URL + "/authorize?" + q.Encode(), state, nonce, verifier
}

// authorizeWithConsent logs in with the card, checks that the
// data-release page lists want and answers "Continua"; it returns the
// redirect to the relying party.
func (s *server) authorizeWithConsent(t *testing.T, b *http.Client, authURL string, want ...string) *url.URL {
	t.Helper()
	resp, body := get(t, b, authURL)
	if m := loginLinkRE.FindStringSubmatch(body); resp.StatusCode == http.StatusOK && m != nil {
		resp, body = get(t, b, strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	id, csrf := releaseIDRE.FindStringSubmatch(body), csrfRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || id == nil || csrf == nil {
		t.Fatalf("authorization ended with %d, not the data-release page:\n%s", resp.StatusCode, body)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("the data-release page does not list %q:\n%s", w, body)
		}
	}
	form := url.Values{"csrf": {csrf[1]}, "id": {id[1]}, "choice": {"continue"}}
	req, _ := http.NewRequest(http.MethodPost, s.env.Public.URL+"/cns/release", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.env.Public.URL)
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("data-release page answered %d without a redirect:\n%s", resp.StatusCode, raw)
	}
	return loc
}

// userinfo calls /userinfo with the access token: status, Content-Type,
// body.
func (s *server) userinfo(t *testing.T, access string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.env.Public.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := s.env.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// open decrypts a nested JWT of cnsgate with the relying party's key,
// verifies it against cnsgate's /jwks and checks its content encryption.
func (s *server) open(t *testing.T, raw string, enc jwk.Key, wantEnc string) map[string]any {
	t.Helper()
	_, body := get(t, s.env.Client(), s.env.Public.URL+"/jwks")
	set, err := jwk.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	n, err := oidctest.OpenNested(t.Context(), raw, enc, set, s.env.Public.URL, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Header.ContentEncryption().String(); got != wantEnc {
		t.Fatalf("JWE enc %s, want %s", got, wantEnc)
	}
	return n.Claims
}

// TestFederatedCIELogin: a relying party of the CIE id rules known only
// through the local federation (trust anchor, intermediate, relying party
// on loopback) logs a citizen in with cnsgate running the federation's
// cie profile: a request object signed with the key its federation
// metadata publishes, asking for SpidL2, offline_access and
// prompt=consent; the card login and the data-release page; the code
// redeemed by private_key_jwt; an ID token encrypted to the encryption
// key of its federation metadata (as it registers there) and verified
// against /jwks; /userinfo signed then encrypted, carrying the namespaced
// fiscal number; the refresh token rotated. The same request object
// again is refused as invalid_request_object.
func TestFederatedCIELogin(t *testing.T) {
	f := newLocalFed(t, nil)
	enc := f.cieRP(t)
	s := newServer(t, f, func(o *federation.Options) { o.Profile = oidc.ProfileCIE },
		func(o *oidc.Options) { o.ACRLevels = []string{levelL2} })
	const cf = "RSSMRA85T10A562S"
	card := s.env.CA.MustIssueCard(cnstest.CardOptions{FiscalCode: cf, GivenName: "MARIO", FamilyName: "ROSSI"})
	s.env.PreRegister(card)
	b := s.browser(card, f.rp.id)

	authURL, state, nonce, verifier := s.cieRequest(t, f)
	loc := s.authorizeWithConsent(t, b, authURL, f.rp.id, cf, "Il servizio chiede la tua conferma a ogni accesso.")
	if !strings.HasPrefix(loc.String(), f.rp.id+"/cb?") || loc.Query().Get("code") == "" || loc.Query().Get("state") != state || loc.Query().Get("iss") != s.env.Public.URL {
		t.Fatalf("redirect after the data-release page: %s", loc)
	}
	status, tok := s.token(t, f, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {f.rp.id + "/cb"}, "code_verifier": {verifier}}, f.rpKey)
	if status != http.StatusOK {
		t.Fatalf("/token answered %d: %v", status, tok)
	}
	access, _ := tok["access_token"].(string)
	refresh, _ := tok["refresh_token"].(string)
	rawID, _ := tok["id_token"].(string)
	if access == "" || refresh == "" || strings.Count(rawID, ".") != 4 {
		t.Fatalf("token response %v: want an access token, a refresh token (offline_access) and a JWE ID token", tok)
	}
	id := s.open(t, rawID, enc, "A128CBC-HS256")
	if id["aud"] == nil || fmt.Sprint(id["aud"]) != "["+f.rp.id+"]" || id["nonce"] != nonce || id["acr"] != levelL2 ||
		id[nsFiscal] != "TINIT-"+cf || id["fiscal_number"] != nil || id["jti"] == nil {
		t.Fatalf("ID token claims: %v", id)
	}
	st, ctype, rawUI := s.userinfo(t, access)
	if st != http.StatusOK || ctype != "application/jwt" {
		t.Fatalf("/userinfo %d %s: %s", st, ctype, rawUI)
	}
	ui := s.open(t, rawUI, enc, "A256CBC-HS512")
	if ui[nsFiscal] != "TINIT-"+cf || ui["sub"] != id["sub"] || ui["family_name"] != "ROSSI" {
		t.Fatalf("userinfo claims: %v", ui)
	}
	status, next := s.token(t, f, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, f.rpKey)
	if status != http.StatusOK || next["refresh_token"] == refresh || next["refresh_token"] == nil {
		t.Fatalf("refresh answered %d: %v", status, next)
	}

	// The request object again, same jti: refused to the redirect_uri.
	resp, body := get(t, b, authURL)
	replay, err := resp.Location()
	if err != nil || replay.Query().Get("error") != "invalid_request_object" || !strings.HasPrefix(replay.String(), f.rp.id+"/cb?") {
		t.Fatalf("replayed request object: %d %v %v\n%s", resp.StatusCode, replay, err, body)
	}
	t.Logf("federated cie login: ID token JWE %d bytes (acr %s, %s = %s), userinfo JWE %d bytes (%s = %s), refresh rotated; replay: %s (%s); resolutions %v",
		len(rawID), id["acr"], nsFiscal, id[nsFiscal], len(rawUI), nsFiscal, ui[nsFiscal], replay.Query().Get("error"),
		replay.Query().Get("error_description"), s.rec.n)
}

// TestFederatedCIEBadEncryption: a relying party whose federation
// metadata registers a userinfo encryption cnsgate does not do (RSA1_5)
// is refused at /authorize of the running server, with the reason
// logged.
func TestFederatedCIEBadEncryption(t *testing.T) {
	f := newLocalFed(t, nil)
	f.rp.set(func(e *entity) {
		e.metadata[federation.TypeRelyingParty].(map[string]any)["userinfo_encrypted_response_alg"] = "RSA1_5"
	})
	s := newServer(t, f, func(o *federation.Options) { o.Profile = oidc.ProfileCIE })
	q := url.Values{"response_type": {"code"}, "client_id": {f.rp.id}, "redirect_uri": {f.rp.id + "/cb"}, "scope": {"openid"},
		"state": {b64(random(32))}, "code_challenge": {b64(random(32))}, "code_challenge_method": {"S256"}}
	resp, body := get(t, s.browser(nil, f.rp.id), s.env.Public.URL+"/authorize?"+q.Encode())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Richiesta non valida") {
		t.Fatalf("/authorize answered %d:\n%s", resp.StatusCode, body)
	}
	const reason = `userinfo_encrypted_response_alg \"RSA1_5\" is not supported`
	if !slices.ContainsFunc(s.logs.Lines(), func(l string) bool {
		return strings.Contains(l, "client_id not registered") && strings.Contains(l, reason)
	}) {
		t.Fatalf("the reason %q is not logged:\n%s", reason, strings.Join(s.logs.Lines(), "\n"))
	}
	t.Logf("/authorize %d; logged: %s", resp.StatusCode, reason)
}
