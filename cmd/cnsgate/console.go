package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/oidc"
)

// The security team's console (listen.console): a built-in OpenID Connect
// client of cnsgate's own provider, whose secret is drawn at every start
// and never leaves the process, with audience operators and the required
// role console.role; its codes are redeemed by calling the public handler
// in the process.

// consoleClient is the console's client of the provider.
func consoleClient(cfg *config.Config, secret string) oidc.Client {
	return oidc.Client{ID: idp.ConsoleClientID, Name: "Console della sicurezza", Secret: secret,
		RedirectURIs: []string{idp.ConsoleRedirectURI(cfg.Console.Origin)}, AuthMethod: oidc.AuthClientSecretPost}
}

// consoleLink is the console as a relying party of the login service: for
// operators holding console.role only.
func consoleLink(cfg *config.Config) idp.ServiceLink {
	return idp.ServiceLink{ID: idp.ConsoleClientID, Name: "Console della sicurezza",
		Audience: string(config.AudienceOperators), RequiredRoles: []string{cfg.Console.Role}}
}

func newConsoleSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// buildConsole makes the console's handler when listen.console is set.
func (g *gateway) buildConsole(context.Context) error {
	if !g.cfg.ConsoleOn() {
		return nil
	}
	o := idp.ConsoleOptions{Origin: g.cfg.Console.Origin, Role: g.cfg.Console.Role, Exchange: g.consoleExchange,
		Store: g.registry, History: g.registry, Revoker: g.registry}
	if g.checker != nil {
		o.Revocation = revocationStatus{g.checker}
	}
	h, err := g.svc.Console(o)
	if err != nil {
		return err
	}
	g.console = h
	g.logger.Info("security console", "origin", g.cfg.Console.Origin, "addr", g.cfg.Listen.Console)
	return nil
}

// inProcess is a ResponseWriter that keeps the answer.
type inProcess struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *inProcess) Header() http.Header { return w.h }
func (w *inProcess) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *inProcess) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// consoleExchange redeems the console's code at the provider's token
// endpoint, in the process, and reads the ID token it answers with: the
// token comes from this process's own provider, never from the network.
func (g *gateway) consoleExchange(ctx context.Context, code, verifier, redirectURI, nonce string) (idp.ConsoleIdentity, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "client_id": {idp.ConsoleClientID}, "client_secret": {g.consoleSecret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.Issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return idp.ConsoleIdentity{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "127.0.0.1:0"
	w := &inProcess{h: http.Header{}}
	idp.WithRequestInfo(g.public).ServeHTTP(w, req)
	var tok struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal(w.body.Bytes(), &tok); err != nil || w.status != http.StatusOK || tok.IDToken == "" {
		return idp.ConsoleIdentity{}, fmt.Errorf("token endpoint: %d %s", w.status, tok.Error)
	}
	return consoleIdentity(tok.IDToken, g.cfg.Issuer, nonce)
}

// consoleIdentity reads the claims of the console's ID token.
func consoleIdentity(idToken, issuer, nonce string) (idp.ConsoleIdentity, error) {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return idp.ConsoleIdentity{}, errors.New("id token: not a JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return idp.ConsoleIdentity{}, fmt.Errorf("id token: %w", err)
	}
	var c struct {
		Iss, Nonce string
		Aud        json.RawMessage
		Fiscal     string   `json:"fiscal_number"`
		Given      string   `json:"given_name"`
		Family     string   `json:"family_name"`
		Roles      []string `json:"roles"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return idp.ConsoleIdentity{}, fmt.Errorf("id token: %w", err)
	}
	cf, ok := strings.CutPrefix(c.Fiscal, "TINIT-")
	switch {
	case c.Iss != issuer || !audienceIs(c.Aud, idp.ConsoleClientID):
		return idp.ConsoleIdentity{}, errors.New("id token: issuer or audience not the console's")
	case c.Nonce != nonce:
		return idp.ConsoleIdentity{}, errors.New("id token: nonce not this login's")
	case !ok || cf == "":
		return idp.ConsoleIdentity{}, errors.New("id token: no fiscal_number")
	}
	return idp.ConsoleIdentity{FiscalCode: cf, Name: strings.TrimSpace(c.Given + " " + c.Family), Roles: slices.Clip(c.Roles)}, nil
}

// audienceIs reports whether aud (a string or an array of one) is id.
func audienceIs(aud json.RawMessage, id string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == id
	}
	var list []string
	return json.Unmarshal(aud, &list) == nil && len(list) == 1 && list[0] == id
}
