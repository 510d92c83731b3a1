package metrics

import (
	"crypto/x509"
	"net/http"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
	"github.com/cnsgate/cnsgate/x509cns/tslsync"
)

// Other is the label value of anything outside its bounded set.
const Other = "other"

// NoReason is the reason label of a successful login.
const NoReason = "none"

// DefaultMaxIssuers caps the issuer label set when Options.MaxIssuers is 0.
const DefaultMaxIssuers = 256

// Options are the build facts and the bounded label sets of a Metrics.
type Options struct {
	// Version is the value of cnsgate_build_info's version label.
	Version string
	// Issuers are the values the issuer label may take: the common names of
	// the trusted CAs, as IssuerLabels returns them. Only the first
	// MaxIssuers (sorted) are kept; any other issuer is counted as "other".
	Issuers    []string
	MaxIssuers int // default DefaultMaxIssuers
	// Clients are the configured OIDC client ids and ServiceProviders the
	// configured SAML SP entity ids: the values of the client label.
	Clients          []string
	ServiceProviders []string
	// TSL registers the metrics of the trusted list fetched from
	// trust.tsl_url (cnsgate_trust_tsl_*); without it they do not exist.
	TSL bool
	// Now times HTTP requests; default time.Now.
	Now func() time.Time
}

// Metrics holds cnsgate's collectors on a private registry.
type Metrics struct {
	reg        *prometheus.Registry
	now        func() time.Time
	maxIssuers int
	issuers    atomic.Pointer[labelSet]
	clients    labelSet

	loginAttempts   *prometheus.CounterVec
	registrations   *prometheus.CounterVec
	certValidation  prometheus.Histogram
	revocation      *prometheus.CounterVec
	crlAge          *prometheus.GaugeVec
	crlEntries      *prometheus.GaugeVec
	crlFailures     *prometheus.CounterVec
	sessionsCreated prometheus.Counter
	sessionsEnded   *prometheus.CounterVec
	tokens          *prometheus.CounterVec
	refreshReuse    *prometheus.CounterVec
	corsRefused     *prometheus.CounterVec
	fedResolutions  *prometheus.CounterVec // federation.go
	profileRefused  *prometheus.CounterVec
	logoutNotes     *prometheus.CounterVec
	samlRefused     *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
	proxySpoof      prometheus.Counter
	handoffRefused  prometheus.Counter
	forwardedBad    prometheus.Counter
	rateLimited     *prometheus.CounterVec
	rolesWithheld   *prometheus.CounterVec
	adminRequests   *prometheus.CounterVec
	accountActions  *prometheus.CounterVec
	accessDenied    *prometheus.CounterVec
	ready           *prometheus.GaugeVec
	tsl             tslMetrics
	auditQueue      prometheus.Gauge
	auditBatch      prometheus.Histogram
	syslogQueue     prometheus.Gauge
	syslogSent      prometheus.Counter
	syslogDropped   prometheus.Counter
}

var (
	_ idp.Recorder          = (*Metrics)(nil)
	_ idp.LogoutRecorder    = (*Metrics)(nil)
	_ idp.RateLimitRecorder = (*Metrics)(nil)
	_ idp.AdminRecorder     = (*Metrics)(nil)
	_ idp.HandoffRecorder   = (*Metrics)(nil)
	_ idp.AccessRecorder    = (*Metrics)(nil)
	_ revocation.Recorder   = (*Metrics)(nil)
)

// New builds the collectors, registers them with the Go and process
// collectors on a fresh registry, and sets every bounded series that a
// dashboard sums over to zero.
func New(o Options) *Metrics {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxIssuers <= 0 {
		o.MaxIssuers = DefaultMaxIssuers
	}
	m := &Metrics{reg: prometheus.NewRegistry(), now: o.Now, maxIssuers: o.MaxIssuers,
		clients: newLabelSet(append(slices.Clone(o.Clients), o.ServiceProviders...), 0)}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cnsgate_" + name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cnsgate_" + name, Help: help}, labels)
		m.reg.MustRegister(g)
		return g
	}
	m.loginAttempts = counter("login_attempts_total", "Card logins by outcome and refusal reason (reason \"none\" on success).", "outcome", "reason")
	m.registrations = counter("registrations_total", "Card registrations (\"Registra TS-CNS\") by outcome.", "outcome")
	m.revocation = counter("revocation_checks_total", "Revocation answers by method (crl, ocsp, none) and result (good, revoked, unavailable).", "method", "result")
	m.crlFailures = counter("crl_refresh_failures_total", "Failed CRL fetches or loads by issuer.", "issuer")
	m.sessionsEnded = counter("sessions_ended_total", "Sessions ended, by cause.", "cause")
	m.tokens = counter("tokens_issued_total", "Tokens and assertions issued, by kind and relying party.", "kind", "client")
	m.refreshReuse = counter("refresh_token_reuse_total", "Rotated refresh tokens presented again, by relying party and outcome (graced: the first use's answer within oidc.refresh_reuse_grace; revoked: the token family revoked).", "client", "outcome")
	m.profileRefused = counter("oidc_profile_refusals_total", "OIDC authorization requests refused by the SPID/CIE profile rules or for an invalid request object, by relying party and reason.", "client", "reason")
	m.corsRefused = counter("cors_refused_total", "Cross-origin requests to the OIDC endpoints refused: an origin no client allows, or a preflight for another method; by endpoint.", "endpoint")
	m.fedResolutions = counter("federation_resolutions_total", "Trust chains of federated relying parties (OpenID Federation automatic registration), by result: resolved, cached (served from the cache until the chain expires) or refused.", "result")
	m.logoutNotes = counter("logout_notifications_total", "Logout notifications sent to relying parties, by kind and result.", "kind", "result")
	m.samlRefused = counter("saml_requests_refused_total", "SAML requests refused (an error page, or RequestDenied at the SP's ACS), by reason.", "reason")
	m.rateLimited = counter("rate_limited_total", "Unauthenticated login starts refused by the per-IP rate limit (limits.*), by route.", "route")
	m.rolesWithheld = counter("operator_roles_withheld_total", "Logins of a person in the operator table that carried no roles, by reason (not_operator_card: a personal card; outside_validity: the entry's dates).", "reason")
	m.adminRequests = counter("admin_requests_total", "Admin API calls by action and result (unauthorized: no or wrong bearer token).", "action", "result")
	m.accountActions = counter("account_actions_total", "Acts of the citizen on \"La mia tessera\": card removed, consent withdrawn, history downloaded, or refused (bad form token or Origin, not the citizen's card).", "action")
	m.accessDenied = counter("access_denied_total", "Assertions refused because the relying party's audience or required_roles exclude the person, by relying party and reason.", "client", "reason")
	m.crlAge = gauge("crl_age_seconds", "Age (now - thisUpdate) of the cached CRL of an issuer.", "issuer")
	m.crlEntries = gauge("crl_entries", "Entries in the cached CRL of an issuer.", "issuer")
	m.ready = gauge("ready", "1 when a dependency answers its readiness check, 0 when it does not.", "dependency")
	m.sessionsCreated = prometheus.NewCounter(prometheus.CounterOpts{Name: "cnsgate_sessions_created_total", Help: "Sessions created by a card login."})
	m.proxySpoof = prometheus.NewCounter(prometheus.CounterOpts{Name: "cnsgate_proxy_header_spoof_total",
		Help: "Client-certificate headers sent by a peer outside proxy.trusted_cidrs (removed and ignored)."})
	m.handoffRefused = prometheus.NewCounter(prometheus.CounterOpts{Name: "cnsgate_handoff_refused_total",
		Help: "One-time handoff codes refused at /cns/complete as unknown, expired or already used (replays included)."})
	m.forwardedBad = prometheus.NewCounter(prometheus.CounterOpts{Name: "cnsgate_proxy_forwarded_invalid_total",
		Help: "Forwarded client-address headers of trusted proxies with an entry that is not an address, or too many hops."})
	m.certValidation = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cnsgate_cert_validation_seconds",
		Help:    "Time to judge a presented card: chain, profile and revocation.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cnsgate_http_request_duration_seconds",
		Help: "HTTP request duration by ServeMux route pattern and status code.", Buckets: prometheus.DefBuckets}, []string{"route", "code"})
	m.newAuditMetrics()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{Name: "cnsgate_build_info", Help: "Always 1; labels carry the build.",
		ConstLabels: prometheus.Labels{"version": o.Version, "goversion": runtime.Version()}})
	buildInfo.Set(1)
	m.reg.MustRegister(m.sessionsCreated, m.proxySpoof, m.handoffRefused, m.forwardedBad, m.certValidation, m.httpDuration, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if o.TSL {
		m.tsl.fetches = counter("trust_tsl_fetch_total", "Fetches of the trusted list at trust.tsl_url, by outcome (updated, unchanged, or why the last good list was kept).", "outcome")
		m.tsl.anchors = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cnsgate_trust_tsl_anchors",
			Help: "CAs of the trusted list in use that were usable as anchors when it was verified."})
		m.tsl.nextUpdate = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cnsgate_trust_tsl_next_update_timestamp_seconds",
			Help: "NextUpdate of the trusted list in use (Unix time; 0 when none is in use)."})
		age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cnsgate_trust_tsl_age_seconds",
			Help: "Time since the trusted list in use was last fetched and verified (or confirmed unchanged); +Inf when none ever was."}, m.tslAge)
		m.reg.MustRegister(m.tsl.anchors, m.tsl.nextUpdate, age)
		for _, out := range tslsync.Outcomes() {
			m.tsl.fetches.WithLabelValues(out)
		}
	}
	m.zeroSeries(o)
	m.SetIssuers(o.Issuers)
	return m
}

// newAuditMetrics registers the audit trail's own series: the group
// commit's queue and batches, the syslog sink's queue and deliveries.
func (m *Metrics) newAuditMetrics() {
	m.auditQueue = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cnsgate_audit_queue_depth",
		Help: "Audit writes (events, last-login updates) waiting for the registry's group commit."})
	m.auditBatch = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cnsgate_audit_batch_size",
		Help: "Writes committed together by the registry's group commit, per transaction.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)})
	m.syslogQueue = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cnsgate_audit_syslog_queue_depth",
		Help: "Audit events waiting to be sent to the syslog collector (audit.syslog)."})
	m.syslogSent = prometheus.NewCounter(prometheus.CounterOpts{Name: "cnsgate_audit_syslog_sent_total",
		Help: "Audit events sent to the syslog collector."})
	m.syslogDropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "cnsgate_audit_syslog_dropped_total",
		Help: "Audit events not sent to the syslog collector: its queue was full, or cnsgate stopped while it was unreachable (each also logged)."})
	m.reg.MustRegister(m.auditQueue, m.auditBatch, m.syslogQueue, m.syslogSent, m.syslogDropped)
}

// zeroSeries sets to zero every bounded series a dashboard sums over, so
// that a rate over them exists before the first event.
func (m *Metrics) zeroSeries(o Options) {
	for _, r := range x509cns.Reasons() {
		m.loginAttempts.WithLabelValues(idp.OutcomeFailure, string(r))
	}
	m.loginAttempts.WithLabelValues(idp.OutcomeSuccess, NoReason)
	for _, out := range outcomes {
		m.registrations.WithLabelValues(out)
	}
	for _, c := range causes {
		m.sessionsEnded.WithLabelValues(c)
	}
	m.zeroLoginLimits()
	m.zeroAdminRequests()
	for _, meth := range methods {
		for _, s := range statuses {
			m.revocation.WithLabelValues(meth, s)
		}
	}
	for _, e := range corsEndpoints {
		m.corsRefused.WithLabelValues(e)
	}
	m.zeroFederation()
	for _, r := range samlRefusalReasons {
		m.samlRefused.WithLabelValues(r)
	}
	for _, k := range notificationKinds {
		for _, r := range notifyResults {
			m.logoutNotes.WithLabelValues(k, r)
		}
	}
	for _, c := range o.Clients {
		for _, k := range []string{TokenID, TokenAccess, TokenRefresh} {
			m.tokens.WithLabelValues(k, m.clients.label(c))
		}
		for _, out := range reuseOutcomes {
			m.refreshReuse.WithLabelValues(m.clients.label(c), out)
		}
	}
	for _, sp := range o.ServiceProviders {
		m.tokens.WithLabelValues(TokenSAMLAssertion, m.clients.label(sp))
	}
}

// zeroLoginLimits sets the series of refused login starts and withheld
// operator roles to zero.
func (m *Metrics) zeroLoginLimits() {
	for _, r := range limitedRoutes {
		m.rateLimited.WithLabelValues(r)
	}
	for _, r := range withheldReasons {
		m.rolesWithheld.WithLabelValues(r)
	}
}

// Registry returns the private registry, for tests and for anyone who
// wants to add a collector of their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text (or protobuf,
// negotiated) format: mount it at /metrics on the admin listener.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// SetIssuers replaces the issuer label set, e.g. after a trust-store
// reload. Series of issuers that left the set are deleted so that a
// removed CA's last CRL age does not linger as a stale CRL.
func (m *Metrics) SetIssuers(names []string) {
	next := newLabelSet(names, m.maxIssuers)
	if prev := m.issuers.Swap(&next); prev != nil {
		for name := range prev.set {
			if !next.has(name) {
				m.crlAge.DeleteLabelValues(name)
				m.crlEntries.DeleteLabelValues(name)
				m.crlFailures.DeleteLabelValues(name)
			}
		}
	}
	for name := range next.set {
		m.crlFailures.WithLabelValues(name)
	}
}

// IssuerLabels returns the issuer label of each CA certificate the way the
// revocation checker names them: the subject's common name, or the whole
// subject when it has none. Pass the trust store's Anchors() (and any
// intermediate CA, such as the CIE's SUBCA1) to Options.Issuers.
func IssuerLabels(cas []*x509.Certificate) []string {
	out := make([]string, 0, len(cas))
	for _, c := range cas {
		if c.Subject.CommonName != "" {
			out = append(out, c.Subject.CommonName)
		} else {
			out = append(out, c.Subject.String())
		}
	}
	return out
}

// labelSet is a fixed set of allowed label values.
type labelSet struct{ set map[string]struct{} }

// newLabelSet keeps the distinct non-empty values, the first max of them
// in sorted order when max > 0.
func newLabelSet(values []string, max int) labelSet {
	vs := slices.Clone(values)
	slices.Sort(vs)
	vs = slices.Compact(vs)
	s := labelSet{set: make(map[string]struct{}, len(vs))}
	for _, v := range vs {
		if v == "" || v == Other {
			continue
		}
		if max > 0 && len(s.set) == max {
			break
		}
		s.set[v] = struct{}{}
	}
	return s
}

func (s labelSet) has(v string) bool { _, ok := s.set[v]; return ok }

// label returns v when it is in the set, Other otherwise.
func (s labelSet) label(v string) string {
	if s.has(v) {
		return v
	}
	return Other
}

// oneOf returns v when it is one of allowed, Other otherwise.
// zeroAdminRequests creates every admin API series at zero, and every
// series of "La mia tessera"'s acts.
func (m *Metrics) zeroAdminRequests() {
	for _, a := range accountActions {
		m.accountActions.WithLabelValues(a)
	}
	for _, a := range adminActions {
		for _, r := range adminResults {
			m.adminRequests.WithLabelValues(a, r)
		}
	}
}

func oneOf(v string, allowed []string) string {
	if slices.Contains(allowed, v) {
		return v
	}
	return Other
}
