// Package examples holds the demo relying parties that `cnsgate demo`
// starts beside the gateway, each written on standard client libraries the
// way a public administration's developer would: esenzioni ("Esenzioni da
// reddito", OpenID Connect on zitadel/oidc's rp package) and cms ("CMS - Gestione
// tessere", the card management system for ASL operators, a SAML service
// provider on crewjam's samlsp).
//
// They are examples: each is a package with a constructor and an
// http.Handler, so that tests and cmd/cnsgate can run it; none imports
// cnsgate's own packages.
//
// # Files
//
//	doc.go             this map
//	esenzioni/         the OpenID Connect relying party
//	cms/               the SAML service provider
//	internal/webpage/  the page rendering both share
package examples
