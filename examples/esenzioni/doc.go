// Package esenzioni is "Esenzioni da reddito", the demo's OpenID Connect
// relying party: a citizen logs in with the TS-CNS through cnsgate and sees
// their fiscal code, name and a demonstration list of income-based
// prescription-charge exemptions (codes E01–E04).
//
// It is written only on go-oidc and x/oauth2, as any relying party would
// be: discovery, the authorization code flow with PKCE (S256), state and
// nonce, ID token verification, RP-initiated logout through the provider's
// end_session_endpoint, and a back-channel logout endpoint that verifies
// the logout token (signature against the provider's JWKS, iss, aud, exp,
// the back-channel logout event, sid, no nonce, no replay) and ends the
// local sessions of that sid.
//
// Its sessions live in memory: it is a demo. It knows nothing of cnsgate's
// packages; it only speaks the protocol.
//
// # Files
//
//	doc.go          this map
//	app.go          Config, App, New: discovery, login with PKCE, the callback, RP-initiated logout
//	backchannel.go  the back-channel logout endpoint and the logout token's checks
//	store.go        the in-memory pending logins, sessions by sid and seen logout-token ids
//	exemptions.go   the demonstration exemptions shown to the citizen
//	pages.go        the embedded templates and stylesheet, page rendering
//	templates/      the pages (layout, home, account, logged out, error), embedded
//	static/         the stylesheet, embedded
package esenzioni
