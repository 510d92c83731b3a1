// Package saml is cnsgate's SAML 2.0 identity provider: /saml/metadata,
// /saml/sso (HTTP-Redirect and HTTP-POST bindings) and /saml/slo, served by
// cnsgate's own handlers on github.com/crewjam/saml's types, with its
// IdentityProvider writing the metadata and signing Responses.
//
// It owns the protocol: service-provider metadata (files or URLs, fetched,
// refreshed and signature-checked), request decoding with size limits
// applied before inflating, request signatures (both bindings; crewjam
// refuses signed requests, so their verification lives here), replay
// protection, assertions with the SmartcardPKI context and the attributes
// of the Contract, encryption to the SP's key, and single logout.
//
// It never touches the card or the session internals: a login is started
// with idp.Service.BeginLogin and ends in the ResumeFunc registered for
// Kind; a session is read with idp.Service.CurrentSession, joined with
// sessions.Store.AddParticipant and ended through idp.Service.ConfirmLogout,
// so that idp tells every other relying party. Short-lived state (seen
// request ids, pending logout responses) lives in sessions.Ephemeral so
// that any replica can serve any request.
//
// A session's SPs are told of its end over SOAP (back channel, any end)
// or, for SPs with only browser SingleLogoutServices, through the
// citizen's browser when the citizen logs out (front channel, see
// frontchannel.go and idp.FrontChannelLogout).
//
// Not supported, by choice: the Artifact and SOAP bindings for requests
// (responses go by HTTP-POST only), encrypted requests and EncryptedID,
// ECDSA keys (ours and the SPs'), and telling browser-only SPs of a
// session that ends without the citizen (a timeout, a revocation).
//
// It takes its own Options and ServiceProviders, which cmd/cnsgate builds
// from the configuration; it never imports config. Its pages (the error
// page, the HTTP-POST form) are idp/web's.
//
// # Files
//
//	doc.go        this map
//	idp.go        Options, IdP, New, the paths and Mount, Close, Recorder and NopRecorder
//	providers.go  ServiceProvider, AttributeProfile, NameIDFormat: the SPs and their metadata sources
//	metadata.go   /saml/metadata (validUntil, cacheDuration, WantAuthnRequestsSigned, the next signing certificate beside the active one), SP metadata fetched, signature-checked, cached and refreshed
//	keys.go       the IdP's signing key pair (a PEM key or an idp/signer key such as a PKCS#11 one) and the next certificate, ReloadNextCert (SIGHUP)
//	keycheck.go   CheckKeyPair, CheckSignerCert, CheckNextCert and CheckMetadata, for cnsgate check-config
//	decode.go     request decoding: HTTP-Redirect (size-limited inflate) and HTTP-POST
//	verify.go     request signatures, both bindings
//	request.go    the AuthnRequest: parsing, signature, instant, AuthnContext and NameIDPolicy checks; RequestDenied refusals
//	sso.go        /saml/sso: begin the login, resume it, answer with the assertion
//	cancel.go     the citizen's "Annulla": Responder/RequestDenied to the ACS (the CancelFunc); pendingRequest
//	release.go    what the SP will receive, for the data-release page (idp.Release); IsPassive answered NoPassive
//	assertion.go  the attributes released by profile, the NameID, the SmartcardPKI context
//	encrypt.go    assertion encryption to the SP's key (AES-GCM or AES-CBC)
//	response.go   HTTP-POST answers through idp/web's form, status responses, the error page
//	slo.go        /saml/slo: LogoutRequests from an SP (signed: ended at once; else confirmed through "Esci"), their responses
//	notify.go     SessionEnded: the back-channel SOAP LogoutRequests to deliver, and their responses
//	frontchannel.go  FrontChannel: LogoutRequests carried by the browser to browser-only SPs, their answers collected
package saml
