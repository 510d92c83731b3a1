// Package oidc is cnsgate's OpenID Provider: discovery, /jwks, /authorize
// (authorization code with PKCE S256), /token, /userinfo, /revoke,
// /introspect, the end_session handling of /logout and back-channel logout,
// written on lestrrat-go/jwx/v2.
//
// It owns the protocol: client authentication, codes, token families,
// claims released by scope, logout tokens. It never touches the card or the
// session internals: a login is started with idp.Service.BeginLogin and ends
// in the ResumeFunc registered for the "oidc" kind; sessions are read
// through sessions.Store and every short-lived value (codes, refresh
// tokens, access-token ids, replay markers) lives in sessions.Ephemeral, so
// that any replica can serve any request.
//
// Every token dies with its session: token families record the session
// they belong to, /token, /userinfo and /introspect check that it is still
// live, and the Provider, as an idp.LogoutNotifier, revokes a session's
// families when it ends and builds for each participating client the
// logout token to POST to its backchannel_logout_uri; idp's
// logout-delivery engine sends it.
//
// It takes its own Options and Clients, which cmd/cnsgate builds from the
// configuration; it never imports config.
//
// # Files
//
//	doc.go               this map
//	provider.go          Options, Provider, New, the paths and Mount, discovery, /jwks
//	clients.go           Client, AuthMethod, SubjectType: each client checked once at New
//	keys.go              the signing keys (RSA or ECDSA) and their algorithms
//	keycheck.go          CheckSigningKey, for cnsgate check-config
//	authorize.go         /authorize: begin the login, resume it, answer by redirect or form_post
//	params_authorize.go  parseAuthorize: the /authorize parameters, one small validator each
//	token.go             /token: the code exchange with PKCE, the refresh-token rotation
//	params_token.go      the /token, /revoke and /introspect parameters, client credentials
//	clientauth.go        client authentication: secrets, private_key_jwt and its replay check, remote JWKS
//	grants.go            codes, grants and token families in sessions.Ephemeral, replays, sid
//	tokens.go            signing and verifying tokens, the token response, /userinfo
//	claims.go            the claims released by scope, the pairwise or public sub, acr and amr
//	revoke.go            /revoke and /introspect
//	logout.go            SessionEnded (the logout tokens to deliver) and end_session on /logout
//	errors.go            the OAuth error codes and responses, the citizen's error page
//	recorder.go          Recorder and NopRecorder, the token and delivery kinds
package oidc
