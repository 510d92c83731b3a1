package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// jwsAlg returns the alg and kid of a compact JWS's header.
func jwsAlg(t *testing.T, token string) (alg, kid string) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var hdr struct{ Alg, Kid string }
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr.Alg, hdr.Kid
}

// TestSigningAlgorithmsGoOIDC: with an RSA and an EC key configured, each
// client gets its ID tokens, its userinfo and its logout tokens signed
// with the algorithm it registered (RS256 when none), and go-oidc, reading
// only the discovery document and /jwks, verifies every one of them.
func TestSigningAlgorithmsGoOIDC(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	ctx := gooidc.ClientContext(context.Background(), h.httpClient())
	provider, err := gooidc.NewProvider(ctx, h.public.URL)
	if err != nil {
		t.Fatal(err)
	}
	br := h.citizen()
	ids := map[string]*gooidc.IDToken{}
	for _, tt := range []struct {
		client, idAlg, userinfo string // userinfo: "" JSON, else the JWT's alg
	}{
		{"esenzioni", "RS256", ""},
		{"es256", "ES256", "ES256"},
		{"ps256", "PS256", "RS256"},
	} {
		t.Run(tt.client, func(t *testing.T) {
			code, verifier := h.code(br, tt.client)
			access, _, rawID := h.tokens(h.exchange(tt.client, code, verifier))
			if alg, kid := jwsAlg(t, rawID); alg != tt.idAlg || kid == "" {
				t.Fatalf("ID token signed %s (kid %q), want %s", alg, kid, tt.idAlg)
			}
			// go-oidc accepts what discovery publishes (RS256, PS256, ES256).
			id, err := provider.Verifier(&gooidc.Config{ClientID: tt.client}).Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("go-oidc refused the %s ID token: %v", tt.idAlg, err)
			}
			if err := id.VerifyAccessToken(access); err != nil {
				t.Fatalf("at_hash: %v", err)
			}
			ids[tt.client] = id

			req, _ := http.NewRequest(http.MethodGet, h.public.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+access)
			resp, err := h.httpClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ct := resp.Header.Get("Content-Type")
			if tt.userinfo == "" {
				if resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "application/json") {
					t.Fatalf("userinfo: %d %s %s", resp.StatusCode, ct, body)
				}
			} else {
				if resp.StatusCode != http.StatusOK || ct != "application/jwt" {
					t.Fatalf("userinfo: %d %s %s", resp.StatusCode, ct, body)
				}
				if alg, _ := jwsAlg(t, string(body)); alg != tt.userinfo {
					t.Fatalf("userinfo signed %s, want %s", alg, tt.userinfo)
				}
			}
			// go-oidc reads both forms, verifying the signed one
			// against /jwks.
			info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: access, TokenType: "Bearer"}))
			if err != nil {
				t.Fatalf("go-oidc userinfo: %v", err)
			}
			var claims idClaims
			if err := info.Claims(&claims); err != nil || claims.Subject != id.Subject || claims.FiscalNumber != "TINIT-"+citizenCF {
				t.Fatalf("userinfo claims %+v %v", claims, err)
			}
			if tt.userinfo != "" {
				var signed struct {
					Iss string   `json:"iss"`
					Aud []string `json:"aud"`
				}
				_ = info.Claims(&signed)
				if signed.Iss != h.public.URL || len(signed.Aud) != 1 || signed.Aud[0] != tt.client {
					t.Fatalf("signed userinfo iss/aud: %+v", signed)
				}
			}
		})
	}

	// "Esci" ends the session: each client's logout token has the alg of
	// its ID tokens and verifies with go-oidc.
	home := br.get(h.public.URL + "/")
	m := csrfRE.FindStringSubmatch(home.body)
	if m == nil {
		t.Fatalf("welcome page without a logout form:\n%s", home.body)
	}
	br.post(h.public.URL+"/logout", url.Values{"csrf": {m[1]}})
	want := map[string]string{"esenzioni": "RS256", "es256": "ES256", "ps256": "PS256"}
	for range want {
		got := h.rp.logout(t)
		alg, _ := jwsAlg(t, got.token)
		if alg != want[got.client] {
			t.Fatalf("logout token of %s signed %s, want %s", got.client, alg, want[got.client])
		}
		tok, err := provider.Verifier(&gooidc.Config{ClientID: got.client}).Verify(ctx, got.token)
		if err != nil {
			t.Fatalf("logout token of %s: %v", got.client, err)
		}
		var lc idClaims
		_ = tok.Claims(&lc)
		if id := ids[got.client]; id == nil || lc.Subject != id.Subject {
			t.Fatalf("logout token of %s for subject %s", got.client, lc.Subject)
		}
	}
}

// TestSigningAlgorithmsZitadel: zitadel/oidc's relying party, configured
// from discovery alone, logs in through the card with PKCE and verifies an
// RS256 ID token (default client) and an ES256 one (a client that
// registered ES256), nonce, at_hash, acr and auth_time included.
func TestSigningAlgorithmsZitadel(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	br := h.citizen()
	for _, tt := range []struct{ client, alg string }{{"native", "RS256"}, {"es256", "ES256"}} {
		t.Run(tt.client, func(t *testing.T) {
			ctx := context.Background()
			nonce := "zitadel-nonce-" + tt.client
			party, err := rp.NewRelyingPartyOIDC(ctx, h.public.URL, tt.client, "", h.rp.srv.URL+"/cb/"+tt.client,
				[]string{"openid", "profile", "fiscal_number"},
				rp.WithHTTPClient(h.httpClient()), rp.WithSigningAlgsFromDiscovery(),
				rp.WithVerifierOpts(rp.WithNonce(func(context.Context) string { return nonce })))
			if err != nil {
				t.Fatal(err)
			}
			verifier, challenge := newVerifier()
			authURL := rp.AuthURL("zitadel-state", party, rp.WithCodeChallenge(challenge),
				func() []oauth2.AuthCodeOption { return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("nonce", nonce)} })
			loc := br.authorize(authURL)
			if loc.Query().Get("state") != "zitadel-state" || loc.Query().Get("code") == "" {
				t.Fatalf("authorization response: %s", loc)
			}
			tokens, err := rp.CodeExchange[*zoidc.IDTokenClaims](ctx, loc.Query().Get("code"), party, rp.WithCodeVerifier(verifier))
			if err != nil {
				t.Fatalf("zitadel rp refused the %s login: %v", tt.alg, err)
			}
			if alg, _ := jwsAlg(t, tokens.IDToken); alg != tt.alg {
				t.Fatalf("ID token signed %s, want %s", alg, tt.alg)
			}
			c := tokens.IDTokenClaims
			if c.Nonce != nonce || c.Claims["fiscal_number"] != "TINIT-"+citizenCF || c.AuthenticationContextClassReference == "" {
				t.Fatalf("zitadel ID token claims: %+v", c)
			}
		})
	}
}
