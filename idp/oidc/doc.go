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
package oidc
