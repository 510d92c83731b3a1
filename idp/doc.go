// Package idp is cnsgate's login service: the front door of the cns listener
// (the card certificate of each request judged from that request's own TLS
// connection state, or from a trusted proxy's header), and the login,
// registration and logout flows built on it.
//
// It consumes x509cns for the verdict on a card and never touches TLS
// configuration or listeners, which cmd/cnsgate owns. Protocol packages
// (idp/oidc, idp/saml) import idp; idp never imports them.
//
// Every session ends through one path (sessionend.go): EndSession,
// EndCardSessions, EndCitizenSessions, SessionExpired and CardsRevoked
// remove the session and hand it to Service.ended, which asks each
// LogoutNotifier to revoke what it issued and build its LogoutDeliveries,
// counts and audits the end, and queues the deliveries on the
// logout-delivery engine (logoutdelivery.go): a bounded queue, a fixed set
// of workers, retries with backoff within a deadline, one counter and one
// audit event per delivery, drained by Service.Close at shutdown.
package idp
