// Package metrics is cnsgate's Prometheus instrumentation: it implements
// idp.Recorder and revocation.Recorder, counts tokens and logout
// notifications for the protocol packages, times HTTP requests by route,
// and serves all of it from a private registry (never the process-global
// default one) on the admin listener's /metrics.
//
// Every label value comes from a bounded set fixed at construction: the
// rejection reasons of x509cns, the session end causes of idp, the
// configured OIDC clients and SAML service providers, the trusted issuers'
// common names, and the ServeMux pattern of a route. Anything outside its
// set is counted as "other". A fiscal code, card serial, IP address or raw
// path never becomes a label.
//
// It also holds the background loops cmd/cnsgate starts: WatchReadiness
// (the cnsgate_ready gauge the alert rules watch) and PurgeLoop (which
// applies audit.retention to the audit trail). It writes no audit events:
// idp does.
package metrics
