// Package cms is "CMS - Gestione tessere", the demo's SAML 2.0 service
// provider: the card management system of the ASL operators. An operator
// logs in with the TS-CNS through cnsgate and sees their fiscal code, name
// and roles (the SAML attribute "role"); a citizen without roles is
// refused ("Accesso riservato agli operatori") and gets no session.
//
// It is written only on crewjam's samlsp, as any service provider would
// be: the identity provider's metadata is fetched from cnsgate's
// /saml/metadata, AuthnRequests go by HTTP-Redirect signed with
// RSA-SHA256, the Response comes back by HTTP-POST to /saml/acs, and the
// session is samlsp's signed cookie.
//
// "Esci" is a local logout: samlsp has no single logout handler, so the
// CMS drops its own session and links to cnsgate's /logout, which ends
// the login with the card.
//
// It knows nothing of cnsgate's packages; it only speaks the protocol.
//
// # Files
//
//	doc.go      this map
//	app.go      Config, App, New: the samlsp middleware, the operator-role check, the handlers, page rendering
//	templates/  the pages (layout, home, account, refused, logged out, error), embedded
//	static/     the stylesheet's colours (the layout is examples/internal/webpage's), embedded
package cms
