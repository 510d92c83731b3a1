package oidc_test

import (
	"context"
	"errors"
	"github.com/cnsgate/cnsgate/idp/registry"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/oidc"
)

// idClaims are the claims the relying party reads from the ID token and
// userinfo.
type idClaims struct {
	Subject      string   `json:"sub"`
	Nonce        string   `json:"nonce"`
	FiscalNumber string   `json:"fiscal_number"`
	GivenName    string   `json:"given_name"`
	FamilyName   string   `json:"family_name"`
	CardID       string   `json:"card_id"`
	CardType     string   `json:"card_type"`
	Region       string   `json:"region"`
	ACR          string   `json:"acr"`
	AMR          []string `json:"amr"`
	SID          string   `json:"sid"`
	AuthTime     int64    `json:"auth_time"`
	Events       map[string]any
}

// TestGoOIDCRelyingParty drives the whole protocol with go-oidc and
// x/oauth2 as the relying party, through the real card login: discovery,
// code with PKCE, ID token verification, userinfo, refresh rotation,
// revocation, end_session and back-channel logout.
func TestGoOIDCRelyingParty(t *testing.T) {
	for _, real := range []bool{false, true} {
		name := "memory+sqlite"
		if real {
			name = "redis+postgres"
		}
		t.Run(name, func(t *testing.T) {
			goOIDCRelyingParty(t, newHarness(t, harnessOptions{keys: []string{"es256.pem", "rs256.pem"}, realServers: real}))
		})
	}
}

func goOIDCRelyingParty(t *testing.T, h *harness) {
	ctx := gooidc.ClientContext(context.Background(), h.httpClient())

	// Discovery.
	provider, err := gooidc.NewProvider(ctx, h.public.URL)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		EndSession string   `json:"end_session_endpoint"`
		Revocation string   `json:"revocation_endpoint"`
		Methods    []string `json:"code_challenge_methods_supported"`
		Algs       []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	if meta.EndSession != h.public.URL+"/logout" || !slices.Equal(meta.Methods, []string{"S256"}) || !slices.Equal(meta.Algs, []string{"RS256", "PS256", "ES256", "RS512"}) {
		t.Fatalf("discovery: %+v", meta)
	}
	cfg := oauth2.Config{
		ClientID: "esenzioni", ClientSecret: secretBasic, Endpoint: provider.Endpoint(),
		RedirectURL: h.rp.srv.URL + "/cb/esenzioni", Scopes: []string{"openid", "profile", "fiscal_number", "roles"},
	}
	verifier := provider.Verifier(&gooidc.Config{ClientID: cfg.ClientID})

	// Code with PKCE through the card login.
	br := h.citizen()
	pkce := oauth2.GenerateVerifier()
	loc := br.authorize(cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(pkce), gooidc.Nonce("nonce-1")))
	q := loc.Query()
	if q.Get("state") != "state-1" || q.Get("iss") != h.public.URL || q.Get("code") == "" {
		t.Fatalf("authorization response: %s", loc)
	}
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}

	// ID token.
	rawID, _ := tok.Extra("id_token").(string)
	idTok, err := verifier.Verify(ctx, rawID)
	if err != nil {
		t.Fatal(err)
	}
	if err := idTok.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var id idClaims
	if err := idTok.Claims(&id); err != nil {
		t.Fatal(err)
	}
	if id.Nonce != "nonce-1" || id.FiscalNumber != "TINIT-"+citizenCF || id.GivenName != "MARIO" || id.FamilyName != "ROSSI" ||
		id.Region != "Toscana" || id.ACR != idp.ACRSmartcard || !slices.Equal(id.AMR, idp.AMR()) || id.SID == "" ||
		id.AuthTime == 0 || id.CardID == "" || id.CardType == "" {
		t.Fatalf("ID token claims: %+v", id)
	}
	if id.Subject == citizenCF || strings.Contains(id.Subject, citizenCF) {
		t.Fatalf("sub reveals the fiscal code: %s", id.Subject)
	}

	// Userinfo.
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var ui idClaims
	if err := info.Claims(&ui); err != nil {
		t.Fatal(err)
	}
	if ui.Subject != id.Subject || ui.FiscalNumber != id.FiscalNumber || ui.GivenName != "MARIO" {
		t.Fatalf("userinfo: %+v", ui)
	}

	// Refresh rotation: a new refresh token each time, and a new ID token
	// for the same subject and session.
	expired := *tok
	expired.Expiry = expired.Expiry.Add(-24 * 3600e9)
	tok2, err := cfg.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	id2, err := verifier.Verify(ctx, tok2.Extra("id_token").(string))
	if err != nil || id2.Subject != id.Subject {
		t.Fatalf("refreshed ID token: %v %v", id2, err)
	}

	// Revocation of the refresh token takes its family with it.
	revokeForm := url.Values{"token": {tok2.RefreshToken}, "token_type_hint": {"refresh_token"}}
	if st, body := h.backchannel(meta.Revocation, revokeForm, "esenzioni", secretBasic); st != http.StatusOK {
		t.Fatalf("revoke: %d %s", st, body)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); !isInvalidGrant(err) {
		t.Fatalf("refresh after revocation: %v", err)
	}
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok2)); err == nil {
		t.Fatal("userinfo accepted an access token of a revoked family")
	}

	// A second authorization in the same session is single sign-on; its
	// tokens live until the end_session below.
	pkce = oauth2.GenerateVerifier()
	loc = br.authorize(cfg.AuthCodeURL("state-2", oauth2.S256ChallengeOption(pkce), gooidc.Nonce("nonce-2")))
	tok3, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	id3, err := verifier.Verify(ctx, tok3.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var c3 idClaims
	_ = id3.Claims(&c3)
	if c3.SID != id.SID || c3.AuthTime != id.AuthTime {
		t.Fatalf("SSO changed the session: %+v", c3)
	}

	// end_session with an id_token_hint of this session: no "Vuoi
	// uscire?", straight back to the registered URI with the state, and the
	// client hears of it on the back channel.
	endURL := meta.EndSession + "?" + url.Values{
		"id_token_hint":            {rawID},
		"post_logout_redirect_uri": {h.rp.srv.URL + "/bye/esenzioni"},
		"state":                    {"bye-state"},
	}.Encode()
	done := br.get(endURL)
	if done.location == nil || done.location.Path != "/bye/esenzioni" || done.location.Query().Get("state") != "bye-state" {
		t.Fatalf("after logout: %d %v\n%s", done.status, done.location, done.body)
	}
	got := h.rp.logout(t)
	if got.client != "esenzioni" {
		t.Fatalf("back-channel logout went to %s", got.client)
	}
	logoutTok, err := provider.Verifier(&gooidc.Config{ClientID: "esenzioni"}).Verify(ctx, got.token)
	if err != nil {
		t.Fatal(err)
	}
	var lc idClaims
	_ = logoutTok.Claims(&lc)
	if lc.SID != id.SID || lc.Subject != id.Subject || lc.Nonce != "" || lc.Events["http://schemas.openid.net/event/backchannel-logout"] == nil {
		t.Fatalf("logout token: %+v", lc)
	}

	// Every token of the session is dead.
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok3)); err == nil {
		t.Fatal("userinfo after logout")
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok3.RefreshToken}).Token(); !isInvalidGrant(err) {
		t.Fatalf("refresh after logout: %v", err)
	}
	// The delivery is counted (and audited) once the client's answer is
	// back, asynchronously to the client receiving the token.
	for deadline := time.Now().Add(5 * time.Second); h.rec.count(h.rec.logout, oidc.NotificationBackchannel+"/"+oidc.ResultOK) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("back-channel delivery never counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.rec.count(h.rec.logout, oidc.NotificationBackchannel+"/"+oidc.ResultOK); n != 1 {
		t.Fatalf("back-channel deliveries counted: %d", n)
	}
	if n := h.rec.count(h.rec.tokens, "refresh/esenzioni"); n != 3 {
		t.Fatalf("refresh tokens counted: %d", n)
	}
	// The audit trail holds the issues, the client's revocation and the
	// delivered logout notification.
	events, err := h.reg.QueryAudit(ctx, registry.AuditQuery{Client: "esenzioni"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[registry.EventKind]int{}
	for _, e := range events {
		kinds[e.Kind]++
	}
	if kinds[registry.KindTokenIssued] != 3 || kinds[registry.KindTokenRevoked] != 1 || kinds[registry.KindLogoutNotification] != 1 {
		t.Fatalf("audit events of the client: %v", kinds)
	}
}

func isInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}
