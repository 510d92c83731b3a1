// Package oidc is cnsgate's OpenID Provider: discovery, /jwks, /authorize
// (authorization code with PKCE S256), /token, /userinfo, /revoke,
// /introspect, the end_session handling of /logout and back-channel logout,
// written on lestrrat-go/jwx/v2.
//
// It owns the protocol: client authentication, codes, token families,
// claims released by scope or by the claims parameter, the signing
// algorithm of each client, logout tokens. It never touches the card or the
// session internals: a login is started with idp.Service.BeginLogin and ends
// in the ResumeFunc registered for the "oidc" kind; sessions are read
// through sessions.Store and every short-lived value (codes, refresh
// tokens, access-token hashes, replay markers) lives in sessions.Ephemeral, so
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
//	provider.go          Options, Provider, New, the paths and Mount, discovery (encoded once) and /jwks (encoded once per key set)
//	clients.go           Client, AuthMethod, SubjectType, its signing algorithms: each client checked once at New
//	resolved.go          clients of Options.ResolveClient (federated relying parties), built once each
//	keys.go              the signing keys, RSA (RS256, PS256) and EC P-256 (ES256) side by side, in states next/active/retired, the signer of each algorithm, /jwks as retired keys expire
//	rotation.go          loading the keys (PEM files and idp/signer keys: PKCS#11), ReloadKeys on SIGHUP, KeyIDs
//	sign.go              signing a token: each key prepared once (raw key, signer, encoded headers), one signature per token
//	keycheck.go          CheckSigningKey, for cnsgate check-config
//	authorize.go         /authorize: begin the login, resume it, answer by redirect or form_post
//	cancel.go            the citizen's "Annulla": access_denied to the client (the CancelFunc)
//	release.go           what the client will receive, for the data-release page (idp.Release)
//	params_authorize.go  parseAuthorize: the /authorize parameters, one small validator each; ui_locales
//	token.go             /token: the code exchange with PKCE, the refresh-token rotation
//	refreshgrace.go      the refresh-token reuse grace: the first use's answer, sealed, for parallel refreshes
//	params_token.go      the /token, /revoke and /introspect parameters, client credentials
//	clientauth.go        client authentication: secrets, private_key_jwt and its replay check, remote JWKS
//	grants.go            codes, grants and token families in sessions.Ephemeral, replays, sid
//	grantcodec.go        the stored form of grants and used-markers: short names, unix ns; the earlier form still read
//	grantwire.go         the short form of a grant read and written without reflection (encoding/json for anything else)
//	tokens.go            verifying tokens, the token response, opaque or jwt access tokens by hash, /userinfo (JSON or signed JWT)
//	claims.go            the claims released by scope or asked by name, the pairwise or public sub (pooled HMACs), acr and amr
//	claimsparam.go       the claims request parameter (OpenID Connect Core 5.5)
//	revoke.go            /revoke and /introspect
//	cors.go              CORS for browser applications: the allowed origins, the headers, preflights
//	logout.go            SessionEnded: the logout tokens to deliver
//	endsession.go        end_session on /logout (GET and POST), LogoutConfirmation
//	errors.go            the OAuth error codes and responses, the citizen's error page
//	jsonenc.go           writeJSON, and the JSON of claims and token responses written without reflection (the bytes encoding/json writes)
//	profile.go           the client profiles (oidc, spid, cie), their defaults, the encryption a client registers
//	profile_authorize.go the authorization rules of the spid and cie profiles, one small step each; offline_access
//	request.go           signed request objects (RFC 9101): verified with the client's keys, jti once, merged
//	acr.go               acr_values: the levels a card login meets (Options.ACRLevels), the level answered
//	encrypt.go           encrypting userinfo and ID tokens to the client's RSA key (nested JWT); jti UUIDs
//	recorder.go          Recorder and NopRecorder, the token and delivery kinds
package oidc
