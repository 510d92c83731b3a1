// Package idp is cnsgate's login service: the front door of the cns listener
// (the card certificate of each request judged from that request's own TLS
// connection state, or from a trusted proxy's header), and the login,
// registration and logout flows built on it.
//
// It consumes x509cns for the verdict on a card and never touches TLS
// configuration or listeners, which cmd/cnsgate owns. Protocol packages
// (idp/oidc, idp/saml) import idp; idp never imports them.
package idp
