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
// Not supported, by choice: the Artifact and SOAP bindings for requests
// (responses go by HTTP-POST only), encrypted requests and EncryptedID,
// ECDSA keys (ours and the SPs'), and front-channel logout started
// elsewhere: SPs without a SOAP SingleLogoutService are not told of a
// logout they did not start (see IdP.SessionEnded).
package saml
