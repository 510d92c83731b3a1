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
//
// # Files
//
//	doc.go               this map
//	service.go           Service, Deps, Options, the routes (the 404 page on NotFoundPattern); Registry, Auditor, LogoutNotifier
//	frontdoor.go         FrontDoor: a request's card chain (TLS state or proxy header) judged; RefusedCard names a refused card
//	proxycert.go         TrustedProxies: which peers may send a certificate header, and which header
//	clientip.go          TrustedProxies.ClientIP: the client's address behind trusted proxies
//	proxycert_parse.go   the readers of the certificate headers (RFC 9440, nginx, Envoy XFCC)
//	flow_cns.go          the cns listener: login, registration, the card check (/cns/*)
//	flow_confirm.go      the optional "Stai per accedere come …" step of the card login
//	flow_public.go       the public origin: welcome page, handoff completion, logout ("Esci", ConfirmLogout)
//	pending.go           PendingRequest, BeginLogin, RegisterResumer; the handoff record
//	cancel.go            "Annulla e torna al servizio" (/cns/cancel): the request refused to its relying party, RegisterCanceller
//	account.go           "La mia tessera" (/account): the cards, "Rimuovi questa tessera", "Revoca il consenso", each confirmed, audited, ending sessions through the one path
//	account_history.go   the citizen's access history on "La mia tessera", paginated, and its CSV download (cells neutralised against formulas)
//	release.go           the data-release page (Options.ConfirmRelease, /cns/release): ReleaseAgreed, ReleaseNeeded
//	handoff.go           the handoff bound to the browser: login cookie, /cns/start, redemption; the pending request's language
//	handoff_refused.go   a handoff code that cannot be redeemed: logged, counted (HandoffRecorder), audited
//	ratelimit.go         Limits: the per-IP token bucket on login starts (429), PendingNamespace
//	csrf.go              CSRF tokens and the Origin check, the session cookie, CurrentSession
//	sessionend.go        the one session-ending path (EndSession, EndBrowserSession, CardsRevoked, ...), FrontChannelLogout
//	revoked.go           RevocationCache, SessionUsable (every use of a session re-checked), SweepRevoked, the retries
//	logoutdelivery.go    the logout-delivery engine (LogoutEngine), Service.Close
//	events.go            audit events (Service.Audit), the audit sinks, ACRSmartcard, AMR
//	auditwriter.go       audit writes detached from the request, retried until stored, flushed by Close
//	deadline.go          every registry call under registry.timeout (boundedRegistry)
//	recorder.go          Recorder, NopRecorder; the outcomes and the session-end Causes
//	pages.go             data for idp/web's templates, error pages, recent accesses, the card login page from its frame
//	hsts.go              HSTS: Strict-Transport-Security on the public and cns listeners
//	operators.go         operatorRoles: the roles and organisation of a login, only with an operator card unless AnyCard, within the validity dates; RolesWithheldRecorder
//	access.go            who may use which service: audiences, required roles, Service.Permit (the refusal page), Service.Allowed ("Servizi attivi")
//	requestlog.go        request_id and remote_ip in the context and the log (FrontDoor.RequestInfo); LogHandler masks fiscal codes
//	admin.go             AdminHandler: /healthz and /readyz
//	adminapi.go          AdminAPI: the authenticated admin API (revoke, list and end sessions)
//	adminapi_registrations.go /admin/registrations: a citizen's cards and consents; the consent withdrawn by an administrator's revocation
//	adminapi_operators.go /admin/operators: list, add, update, remove, import; OperatorJSON; the actor of each change
//	adminapi_audit.go    /admin/audit, /admin/audit/aggregate, /admin/history: reports for other systems (JSON, CSV, pages)
//	console.go           the security team's console: Console, ConsoleOptions, its session (__Host- cookie), CSRF, audited acts (console_action)
//	console_login.go     the console's login: code flow with PKCE to cnsgate's own provider, role checked, logout
//	console_pages.go     the console's pages: logins as charts, revocation state, audit search and CSV export
//	console_citizen.go   the console's citizen page: registrations, live sessions, end session and revoke (cause admin)
//	revocationstate.go   RevocationStatus, CRLStatus, OCSPStatus; GET /admin/revocation
//	auditsearch.go       ParseAuditSearch, RunAuditSearch, RunAuditAggregate, audit CSV (formula-escaped): shared by the admin API, the console and `cnsgate audit query`
//	protocoldeps.go      ProtocolDeps: the defaults the protocol packages' Options share
//	wait.go              Done: a WaitGroup as a channel, for waits bounded by a context
//	oidc/                the OpenID Provider
//	saml/                the SAML IdP
//	web/                 templates, texts and static assets
//	metrics/             the Prometheus recorders
//	registry/            the registry's types; registry/sqlstore is its SQL store
//	idptest/             a running login service for tests
package idp
