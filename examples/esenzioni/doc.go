// Package esenzioni is "Esenzioni da reddito", the demo's OpenID Connect
// relying party: a citizen logs in with the TS-CNS through cnsgate and sees
// their fiscal code, name and a demonstration list of income-based
// prescription-charge exemptions (codes E01–E04).
//
// It is written on zitadel/oidc's relying-party package (pkg/client/rp),
// the path a Go developer would take: rp.NewRelyingPartyOIDC for
// discovery, rp.AuthURL with PKCE (S256), state and nonce,
// rp.CodeExchange for the code and the verified ID token (RS256 or ES256,
// as the provider publishes), rp.RefreshTokens when the access token has
// expired (a refused refresh ends the local session), RP-initiated logout
// through the provider's end_session_endpoint (id_token_hint,
// post_logout_redirect_uri, state), and a back-channel logout endpoint that
// verifies the logout token (signature against the provider's JWKS, iss,
// aud, exp, iat, the back-channel logout event, sid, no nonce, no replay)
// and ends the local sessions of that sid.
//
// Its sessions live in memory: it is a demo. It knows nothing of cnsgate's
// packages; it only speaks the protocol.
//
// # Files
//
//	doc.go          this map
//	app.go          Config, App, New: discovery with zitadel's rp, the home page
//	login.go        login with PKCE, the callback's code exchange, the refresh of a session's tokens
//	logout.go       RP-initiated logout and the post-logout page with its state
//	backchannel.go  the back-channel logout endpoint and the logout token's checks
//	store.go        the in-memory pending logins, sessions by sid and seen logout-token ids
//	exemptions.go   the demonstration exemptions shown to the citizen
//	pages.go        the embedded templates and stylesheet, page rendering
//	templates/      the pages (layout, home, account, logged out, error), embedded
//	static/         the stylesheet's colours (the layout is examples/internal/webpage's), embedded
package esenzioni
