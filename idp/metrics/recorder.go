package metrics

import (
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
)

// Kinds of issued tokens: the kind label of cnsgate_tokens_issued_total.
// The OIDC values are idp/oidc's own constants.
const (
	TokenID            = "id"
	TokenAccess        = "access"
	TokenRefresh       = "refresh"
	TokenSAMLAssertion = "assertion"
)

// Outcomes of a reused refresh token: the outcome label of
// cnsgate_refresh_token_reuse_total (idp/oidc's ReuseGraced and
// ReuseRevoked).
const (
	ReuseGraced  = "graced"
	ReuseRevoked = "revoked"
)

// Kinds and results of logout notifications: the labels of
// cnsgate_logout_notifications_total, as idp's logout-delivery engine
// counts them.
const (
	NotifyOIDCBackChannel = idp.DeliveryOIDCBackchannel // a logout_token POSTed to backchannel_logout_uri
	NotifySAML            = idp.DeliverySAML            // a SAML LogoutRequest to an SP
	// NotifySAMLFrontChannel is a SAML LogoutRequest carried by the browser.
	NotifySAMLFrontChannel = idp.DeliverySAMLFrontChannel
	NotifyOK               = idp.DeliveryOK
	NotifyFailed           = idp.DeliveryFailed
)

var (
	_ idp.Recorder              = (*Metrics)(nil)
	_ idp.ForwardedCounter      = (*Metrics)(nil)
	_ idp.RolesWithheldRecorder = (*Metrics)(nil)
	_ idp.AccountRecorder       = (*Metrics)(nil)
)

// The fixed label sets.
var (
	outcomes          = []string{idp.OutcomeSuccess, idp.OutcomeFailure}
	limitedRoutes     = []string{"/authorize", "/saml/sso", Other}
	withheldReasons   = []string{idp.RolesWithheldNotOperatorCard, idp.RolesWithheldOutsideValidity}
	causes            = []string{idp.CauseLogout, idp.CauseIdle, idp.CauseAbsolute, idp.CauseRevoked, idp.CauseReplaced, idp.CauseAdmin, idp.CauseConsentWithdrawn, idp.CauseUnregistered}
	accountActions    = []string{idp.AccountActionRemoveCard, idp.AccountActionWithdrawConsent, idp.AccountActionHistoryCSV, idp.AccountActionRefused}
	methods           = []string{string(revocation.MethodCRL), string(revocation.MethodOCSP), string(revocation.MethodNone)}
	statuses          = []string{revocation.StatusGood.String(), revocation.StatusRevoked.String(), revocation.StatusUnavailable.String()}
	tokenKinds        = []string{TokenID, TokenAccess, TokenRefresh, TokenSAMLAssertion}
	notificationKinds = []string{NotifyOIDCBackChannel, NotifySAML, NotifySAMLFrontChannel}
	notifyResults     = []string{NotifyOK, NotifyFailed}
	reuseOutcomes     = []string{ReuseGraced, ReuseRevoked}
	profileRefusals   = []string{"request_object", "request_missing", "state", "nonce", "prompt", "acr"}
	corsEndpoints     = []string{"discovery", "jwks", "token", "userinfo", "revoke", "introspect"}
	// samlRefusalReasons are idp/saml's RefusalReasons (the metrics
	// tests check they agree).
	samlRefusalReasons = []string{
		"unknown_sp", "metadata_unavailable", "too_large", "malformed", "unsigned", "bad_signature",
		"weak_algorithm", "destination", "stale", "replay", "acs",
	}
	adminActions = []string{idp.AdminActionRevoke, idp.AdminActionListSessions, idp.AdminActionEndSessions,
		idp.AdminActionListOperators, idp.AdminActionAddOperator, idp.AdminActionUpdateOperator, idp.AdminActionRemoveOperator, idp.AdminActionImportOperator, idp.AdminActionListRegistrations,
		idp.AdminActionAuditSearch, idp.AdminActionAuditAggregate, idp.AdminActionHistory, idp.AdminActionRevocation}
	adminResults = []string{idp.AdminResultSuccess, idp.AdminResultUnauthorized, idp.AdminResultBadRequest, idp.AdminResultNotFound,
		idp.AdminResultError, idp.AdminResultConflict}
	dependencies = []string{DependencySessions, DependencyRegistry, DependencyTrustStore, DependencyShutdown}
)

// LoginAttempt counts a card login; a success carries reason "none".
func (m *Metrics) LoginAttempt(outcome string, reason x509cns.Reason) {
	r := NoReason
	if reason != "" {
		r = Other
		if reason.Valid() {
			r = string(reason)
		}
	}
	m.loginAttempts.WithLabelValues(oneOf(outcome, outcomes), r).Inc()
}

// Registration counts a registration.
func (m *Metrics) Registration(outcome string) {
	m.registrations.WithLabelValues(oneOf(outcome, outcomes)).Inc()
}

// SessionCreated counts a new session.
func (m *Metrics) SessionCreated() { m.sessionsCreated.Inc() }

// SessionEnded counts an ended session by cause.
func (m *Metrics) SessionEnded(cause string) {
	m.sessionsEnded.WithLabelValues(oneOf(cause, causes)).Inc()
}

// CertValidation observes the time taken to judge a card.
func (m *Metrics) CertValidation(d time.Duration) { m.certValidation.Observe(d.Seconds()) }

// AdminRequest counts an admin API call by action and result.
func (m *Metrics) AdminRequest(action, result string) {
	m.adminRequests.WithLabelValues(oneOf(action, adminActions), oneOf(result, adminResults)).Inc()
}

// AccountAction counts an act of "La mia tessera" (idp.AccountRecorder).
func (m *Metrics) AccountAction(action string) {
	m.accountActions.WithLabelValues(oneOf(action, accountActions)).Inc()
}

// ProxySpoof counts a client-certificate header from an untrusted peer.
func (m *Metrics) ProxySpoof() { m.proxySpoof.Inc() }

// HandoffRefused counts a handoff code refused as unknown, expired or
// already used (idp.HandoffRecorder).
func (m *Metrics) HandoffRefused() { m.handoffRefused.Inc() }

// ForwardedInvalid counts a trusted proxy's forwarded header that could not
// be read in full (idp.ForwardedCounter).
func (m *Metrics) ForwardedInvalid() { m.forwardedBad.Inc() }

// RateLimited counts a login start refused by the per-IP rate limit.
func (m *Metrics) RateLimited(route string) {
	m.rateLimited.WithLabelValues(oneOf(route, limitedRoutes)).Inc()
}

// OperatorRolesWithheld counts a login of a person in the operator table
// that carried no roles (idp.RolesWithheldRecorder).
func (m *Metrics) OperatorRolesWithheld(reason string) {
	m.rolesWithheld.WithLabelValues(oneOf(reason, withheldReasons)).Inc()
}

// CheckDone counts one revocation method's answer.
func (m *Metrics) CheckDone(method revocation.Method, status revocation.Status) {
	m.revocation.WithLabelValues(oneOf(string(method), methods), status.String()).Inc()
}

// CRLState sets the age and size of an issuer's cached CRL. Issuers
// outside the set share the "other" series (the last report wins).
func (m *Metrics) CRLState(issuer string, age time.Duration, entries int) {
	l := m.issuers.Load().label(issuer)
	m.crlAge.WithLabelValues(l).Set(age.Seconds())
	m.crlEntries.WithLabelValues(l).Set(float64(entries))
}

// CRLRefreshFailed counts a failed CRL fetch or load.
func (m *Metrics) CRLRefreshFailed(issuer string) {
	m.crlFailures.WithLabelValues(m.issuers.Load().label(issuer)).Inc()
}

// TokenIssued counts a token or assertion issued to a relying party: kind
// is one of the Token constants, client a configured OIDC client id or
// SAML SP entity id. Other values are counted as "other".
func (m *Metrics) TokenIssued(kind, client string) {
	m.tokens.WithLabelValues(oneOf(kind, tokenKinds), m.clients.label(client)).Inc()
}

// RefreshReused counts a rotated refresh token presented again by client,
// with outcome ReuseGraced or ReuseRevoked.
func (m *Metrics) RefreshReused(client, outcome string) {
	m.refreshReuse.WithLabelValues(m.clients.label(client), oneOf(outcome, reuseOutcomes)).Inc()
}

// ProfileRefused counts an authorization request of client refused by the
// rules of its profile or for an invalid request object, by one of
// idp/oidc's Refusal reasons; others count as "other".
func (m *Metrics) ProfileRefused(client, reason string) {
	m.profileRefused.WithLabelValues(m.clients.label(client), oneOf(reason, profileRefusals)).Inc()
}

// CORSRefused counts a cross-origin request refused at an OIDC endpoint
// (idp/oidc's Endpoint constants; others count as "other").
func (m *Metrics) CORSRefused(endpoint string) {
	m.corsRefused.WithLabelValues(oneOf(endpoint, corsEndpoints)).Inc()
}

// SAMLRequestRefused counts a SAML request the identity provider refused,
// by one of idp/saml's RefusalReasons; other values are counted as
// "other".
func (m *Metrics) SAMLRequestRefused(reason string) {
	m.samlRefused.WithLabelValues(oneOf(reason, samlRefusalReasons)).Inc()
}

// LogoutNotification counts a logout notification: kind is
// NotifyOIDCBackChannel, NotifySAML or NotifySAMLFrontChannel, result
// NotifyOK or NotifyFailed.
// Count each delivery once, after its last retry.
func (m *Metrics) LogoutNotification(kind, result string) {
	m.logoutNotes.WithLabelValues(oneOf(kind, notificationKinds), oneOf(result, notifyResults)).Inc()
}

// AuditQueueDepth sets cnsgate_audit_queue_depth: the registry's group
// commit reports its queue (sqlstore.BatchObserver).
func (m *Metrics) AuditQueueDepth(n int) { m.auditQueue.Set(float64(n)) }

// AuditBatch observes the size of one group commit in
// cnsgate_audit_batch_size.
func (m *Metrics) AuditBatch(size int) { m.auditBatch.Observe(float64(size)) }

// SyslogQueueDepth sets cnsgate_audit_syslog_queue_depth
// (auditsyslog.Observer).
func (m *Metrics) SyslogQueueDepth(n int) { m.syslogQueue.Set(float64(n)) }

// SyslogSent counts an event sent in cnsgate_audit_syslog_sent_total.
func (m *Metrics) SyslogSent() { m.syslogSent.Inc() }

// SyslogDropped counts an event dropped in
// cnsgate_audit_syslog_dropped_total.
func (m *Metrics) SyslogDropped() { m.syslogDropped.Inc() }

// AccessDenied counts an assertion refused to someone the relying party's
// audience or required roles exclude; client is a configured relying party
// (else Other), reason one of idp.AccessReasons.
func (m *Metrics) AccessDenied(client, reason string) {
	m.accessDenied.WithLabelValues(m.clients.label(client), oneOf(reason, idp.AccessReasons)).Inc()
}
