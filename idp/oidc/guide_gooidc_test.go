package oidc_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/cnsgate/cnsgate/internal/docsnippet"
)

// guideLogin is what the go-oidc code of docs/relying-parties.md learned.
type guideLogin struct {
	fiscalNumber, givenName, familyName, sid, subject string
	userinfoFiscalNumber                              string
}

// goOIDCGuide is the go-oidc block of docs/relying-parties.md (between the
// markers, byte for byte): discovery, the code flow with PKCE S256 and
// nonce, the ID token verified (signature, iss, aud, exp, nonce, at_hash),
// /userinfo. login plays the browser.
func goOIDCGuide(ctx context.Context, issuer, clientID, clientSecret, redirectURI string, login func(authURL string) *url.URL) (*guideLogin, error) {
	// snippet: go-oidc
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	cfg := oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: redirectURI, Scopes: []string{"openid", "profile", "fiscal_number"}}
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})

	// "Accedi": keep state, nonce and the PKCE verifier in the application's
	// session, send the browser to authURL.
	state, nonce, pkce := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce))
	// At the redirect URI, the browser back with code and state:
	back := login(authURL).Query()
	if back.Get("state") != state {
		return nil, errors.New("state does not match")
	}
	tok, err := cfg.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		return nil, err
	}
	rawID, _ := tok.Extra("id_token").(string)
	idTok, err := verifier.Verify(ctx, rawID)
	if err != nil {
		return nil, err
	}
	if err := idTok.VerifyAccessToken(tok.AccessToken); err != nil { // at_hash
		return nil, err
	}
	var claims struct {
		Nonce        string `json:"nonce"`
		FiscalNumber string `json:"fiscal_number"` // TINIT-<fiscal code>
		GivenName    string `json:"given_name"`
		FamilyName   string `json:"family_name"`
		SID          string `json:"sid"`
	}
	if err := idTok.Claims(&claims); err != nil {
		return nil, err
	}
	if claims.Nonce != nonce {
		return nil, errors.New("nonce does not match")
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, err
	}
	var profile struct {
		FiscalNumber string `json:"fiscal_number"`
	}
	if err := info.Claims(&profile); err != nil {
		return nil, err
	}
	// end snippet
	return &guideLogin{fiscalNumber: claims.FiscalNumber, givenName: claims.GivenName, familyName: claims.FamilyName,
		sid: claims.SID, subject: idTok.Subject, userinfoFiscalNumber: profile.FiscalNumber}, nil
}

// TestGoOIDCGuide runs the go-oidc block of docs/relying-parties.md,
// compiled here as goOIDCGuide, against the running provider with a card
// login; the guide's block is checked byte for byte against it.
func TestGoOIDCGuide(t *testing.T) {
	docsnippet.EqualRegion(t, "relying-parties.md", "go-oidc", "guide_gooidc_test.go")
	h := newHarness(t, harnessOptions{})
	br := h.citizen()
	// cnsgate's TLS certificate is of the test's CA: go-oidc and x/oauth2
	// take the HTTP client from the context.
	ctx := oidc.ClientContext(context.Background(), h.httpClient())
	got, err := goOIDCGuide(ctx, h.public.URL, "esenzioni", secretBasic, h.rp.srv.URL+"/cb/esenzioni", br.authorize)
	if err != nil {
		t.Fatalf("the guide's go-oidc code: %v", err)
	}
	if got.fiscalNumber != "TINIT-"+citizenCF || got.userinfoFiscalNumber != got.fiscalNumber || got.givenName != "MARIO" || got.familyName != "ROSSI" || got.sid == "" {
		t.Fatalf("the guide's go-oidc code learned %+v", got)
	}
	if strings.Contains(got.subject, citizenCF) {
		t.Fatalf("the subject %q holds the fiscal code", got.subject)
	}
	t.Logf("go-oidc (guide): %s, userinfo %s", got.fiscalNumber, got.userinfoFiscalNumber)
}
