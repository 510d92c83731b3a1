// Package metrics is cnsgate's Prometheus instrumentation: it implements
// idp.Recorder and revocation.Recorder, counts the tokens the protocol
// packages issue and the deliveries of idp's logout-delivery engine
// (idp.LogoutRecorder), times HTTP requests by route, watches the
// registry's audit group commit (queue depth, batch sizes),
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
//
// # Files
//
//	doc.go       this map
//	metrics.go   Options, Metrics, New: every metric's name, help and labels, the private registry, issuer labels
//	recorder.go  the Recorder methods and the fixed label sets (outcomes, causes, token and delivery kinds)
//	http.go      Instrument: request durations by ServeMux pattern and status ("unmatched" for no pattern and for idp.NotFoundPattern), each series looked up once
//	federation.go FederationResolution: cnsgate_federation_resolutions_total
//	tsl.go       the fetched trusted list: cnsgate_trust_tsl_* (TSLFetch, TSLState)
//	loops.go     readiness (SetReady, WatchReadiness), the audit retention loop (PurgeLoop) and checkpoint loop (CheckpointLoop)
package metrics
