package oidc_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/cnsgate/cnsgate/internal/docsnippet"
)

// zitadelGuide is the zitadel/oidc block of docs/relying-parties.md
// (between the markers, byte for byte): the relying party from discovery,
// the code flow with PKCE S256 and nonce, the ID token verified, /userinfo.
// login plays the browser.
func zitadelGuide(ctx context.Context, issuer, clientID, clientSecret, redirectURI string, httpClient *http.Client, login func(authURL string) *url.URL) (*guideLogin, error) {
	// snippet: zitadel rp
	nonce := rand.Text() // kept in the application's session with the state and the PKCE verifier
	party, err := rp.NewRelyingPartyOIDC(ctx, issuer, clientID, clientSecret, redirectURI,
		[]string{"openid", "profile", "fiscal_number"},
		rp.WithHTTPClient(httpClient),     // trusting cnsgate's TLS certificate
		rp.WithSigningAlgsFromDiscovery(), // RS256 by default, ES256/PS256 if the client registered one
		rp.WithVerifierOpts(rp.WithNonce(func(context.Context) string { return nonce })))
	if err != nil {
		return nil, err
	}
	// cnsgate requires PKCE S256: send the challenge, keep the verifier.
	state, verifier := rand.Text(), oauth2.GenerateVerifier()
	authURL := rp.AuthURL(state, party, rp.WithCodeChallenge(oauth2.S256ChallengeFromVerifier(verifier)),
		func() []oauth2.AuthCodeOption { return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("nonce", nonce)} })
	// ...the browser logs in and comes back to redirectURI with code and state:
	back := login(authURL).Query()
	if back.Get("state") != state {
		return nil, errors.New("state does not match")
	}
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, back.Get("code"), party, rp.WithCodeVerifier(verifier))
	if err != nil {
		return nil, err
	}
	claims := tokens.IDTokenClaims
	fiscalNumber, _ := claims.Claims["fiscal_number"].(string) // "TINIT-RSSMRA85T10A562S"
	info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, tokens.TokenType, claims.Subject, party)
	if err != nil {
		return nil, err
	}
	// end snippet
	infoFiscal, _ := info.Claims["fiscal_number"].(string)
	return &guideLogin{fiscalNumber: fiscalNumber, givenName: claims.GivenName, familyName: claims.FamilyName,
		sid: claims.SessionID, subject: claims.Subject, userinfoFiscalNumber: infoFiscal}, nil
}

// TestZitadelGuide runs the zitadel/oidc block of docs/relying-parties.md,
// compiled here as zitadelGuide, against the running provider with a card
// login, for a confidential client (client_secret_basic) and a native one
// (no secret); the guide's block is checked byte for byte against it.
func TestZitadelGuide(t *testing.T) {
	docsnippet.EqualRegion(t, "relying-parties.md", "zitadel rp", "guide_zitadel_test.go")
	h := newHarness(t, harnessOptions{})
	br := h.citizen()
	for _, c := range []struct{ id, secret string }{{"esenzioni", secretBasic}, {"native", ""}} {
		got, err := zitadelGuide(context.Background(), h.public.URL, c.id, c.secret, h.rp.srv.URL+"/cb/"+c.id, h.httpClient(), br.authorize)
		if err != nil {
			t.Fatalf("the guide's zitadel code, client %s: %v", c.id, err)
		}
		if got.fiscalNumber != "TINIT-"+citizenCF || got.userinfoFiscalNumber != got.fiscalNumber || got.givenName != "MARIO" || got.sid == "" {
			t.Fatalf("the guide's zitadel code, client %s, learned %+v", c.id, got)
		}
		t.Logf("zitadel rp (guide), client %s: %s, userinfo %s", c.id, got.fiscalNumber, got.userinfoFiscalNumber)
	}
}
