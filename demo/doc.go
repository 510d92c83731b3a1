// Package demo prepares the self-contained demonstration that `cnsgate demo`
// (and `make run`) serves: a generated card PKI ("Regione Demo - CA
// Cittadini") with demo cards, a localhost TLS certificate, the OpenID
// Provider's signing key and secrets, and a configuration registering the
// example relying parties, all kept in one directory and reused on later
// runs (a directory from an earlier version gets the files it lacks).
//
// It writes files, and rebuilds from them the handlers of the demo CA's CRL
// and OCSP responder; serving them, like everything else, is cmd/cnsgate's
// job. It imports neither idp/oidc nor idp/saml: keys come from
// x509cns/pemfile.
//
// # Files
//
//	doc.go     this map
//	demo.go    Ports, Card, Setup, Prepare: the directory, the card PKI and its registered cards, TLS, the configuration
//	cie.go     the CIE-profile card and its root → SUBCA1 chain
//	cierp.go   the example OIDC client of the cie profile (configuration only): its signing and encryption keys, its JWK Set
//	pkcs12.go  each card as a PKCS#12 file for browsers and smart-card tools
//	rp.go      the Esenzioni OIDC client: signing key, subject salt, its configuration
//	federation.go the OpenID Federation: cnsgate's federation key, the demo trust anchor's key, JWK Set and trust mark, the federation section
//	saml.go    the CMS SAML service provider: IdP and SP key pairs, SP metadata, its configuration
//	ca.go      CAHandlers: the demo CA's CRL and OCSP responder
//	info.go    InfoHandlers: the footer's demonstration pages (privacy notice, accessibility statement, legal notes, rendered by idp/web); the demo logo
package demo
