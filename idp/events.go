package idp

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns"
)

// ACRSmartcard is the authentication context of every cnsgate login: a
// certificate on a smart card unlocked by a PIN.
const ACRSmartcard = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"

// AMR returns the authentication methods of a card login (RFC 8176): smart
// card, hardware-protected key, PIN, which together are multi-factor.
func AMR() []string { return []string{"sc", "hwk", "pin", "mfa"} }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// Audit sinks: the values of Options.AuditSink (config audit.sink).
const (
	AuditSinkLog  = "log"
	AuditSinkDB   = "db"
	AuditSinkBoth = "both"
)

// auditRecord is one event for the audit trail.
type auditRecord struct {
	kind     registry.EventKind
	outcome  registry.Outcome
	reason   x509cns.Reason
	identity *x509cns.Identity
	session  *sessions.Session
	cause    string
	detail   string
	client   string // the relying party the login is for, when known
}

// audit writes an event to the structured log (fiscal code masked unless
// Options.AuditRevealFiscalCode) and to the audit table, as Options.AuditSink
// says. A database that cannot take it is logged, never fatal to the
// citizen's request.
func (s *Service) audit(r *http.Request, a auditRecord) {
	var ctx context.Context = context.Background()
	var reqID, ip string
	if r != nil {
		ctx = r.Context()
		reqID = RequestID(ctx)
		ip = remoteIP(ctx)
	}
	s.auditCtx(ctx, a, reqID, ip)
}

func (s *Service) auditCtx(ctx context.Context, a auditRecord, reqID, ip string) {
	e := registry.Event{Kind: a.kind, Outcome: a.outcome, Reason: string(a.reason), RequestID: reqID, RemoteIP: ip, Client: a.client}
	if a.identity != nil {
		e.FiscalCode, e.CardSerial, e.Issuer = a.identity.FiscalCode, a.identity.Serial, a.identity.Issuer
	}
	if a.session != nil {
		e.FiscalCode, e.CardSerial, e.Issuer, e.SessionHash = a.session.FiscalCode, a.session.CardSerial, a.session.Issuer, a.session.IDHash
		if a.kind == registry.KindLogin && a.outcome == registry.OutcomeSuccess {
			// The card's last login time rides in the same write.
			e.CardFingerprint = a.session.CardFingerprint
		}
	}
	detail := map[string]string{}
	if a.cause != "" {
		detail["cause"] = a.cause
	}
	if a.detail != "" {
		detail["detail"] = a.detail
	}
	if len(detail) > 0 {
		e.Detail, _ = json.Marshal(detail)
	}
	s.emitAudit(ctx, e)
}

// Audit records an event of a protocol package (tokens issued or revoked,
// logout notifications) in the audit trail, like the login service's own:
// to the configured sinks, with the fiscal code masked in the log. The
// request id and remote address are taken from ctx when it is a request's.
func (s *Service) Audit(ctx context.Context, e registry.Event) {
	if e.RequestID == "" {
		e.RequestID = RequestID(ctx)
	}
	if e.RemoteIP == "" {
		e.RemoteIP = remoteIP(ctx)
	}
	s.emitAudit(ctx, e)
}

// auditsToDB reports whether audit events go to the audit table.
func (s *Service) auditsToDB() bool { return s.audits != nil && s.opts.AuditSink != AuditSinkLog }

// emitAudit stamps e with the time it happened, when the caller has not,
// before either sink sees it: the log line and the row carry the same
// time, and a retried write keeps it.
func (s *Service) emitAudit(ctx context.Context, e registry.Event) {
	if e.At.IsZero() {
		e.At = s.opts.Now()
	}
	e.At = e.At.UTC()
	if s.opts.AuditSink != AuditSinkDB {
		s.logger.LogAttrs(ctx, slog.LevelInfo, "audit", slog.Attr{Key: "event", Value: s.auditLogValue(e)})
	}
	if s.forward != nil {
		s.forward.Send(e)
	}
	if s.auditsToDB() {
		s.audits.write(ctx, e)
	}
}

// auditLogValue is e as logged: its LogValue, with the fiscal code in full
// when the configuration reveals it.
func (s *Service) auditLogValue(e registry.Event) slog.Value {
	v := e.LogValue()
	if !s.opts.AuditRevealFiscalCode || e.FiscalCode == "" {
		return v
	}
	attrs := v.Group()
	for i, a := range attrs {
		if a.Key == "fiscal_code" {
			attrs[i] = slog.Any("fiscal_code", revealedFiscalCode(e.FiscalCode))
		}
	}
	return slog.GroupValue(attrs...)
}

// loginFailed records a refused login attempt.
func (s *Service) loginFailed(r *http.Request, reason x509cns.Reason, err error, id *x509cns.Identity) {
	s.recorder.LoginAttempt(OutcomeFailure, reason)
	detail := ""
	if err != nil {
		detail = err.Error()
	}
	s.logger.WarnContext(r.Context(), "login refused", "reason", reason, "detail", detail)
	s.audit(r, auditRecord{kind: registry.KindLogin, outcome: registry.OutcomeFailure, reason: reason, identity: id, detail: detail,
		client: s.pendingClient(r.Context(), reqParam(r.URL.Query().Get("req")))})
}

// pendingClient is the relying party of the pending request req, "" when
// there is none or it cannot be read: the login's audit event names it,
// for the reports by relying party.
func (s *Service) pendingClient(ctx context.Context, req string) string {
	p, _ := s.pendingOf(ctx, req)
	return p.Client
}

func (s *Service) registered(r *http.Request, reg, replaced *registry.Registration) {
	s.recorder.Registration(OutcomeSuccess)
	detail := ""
	if replaced != nil {
		detail = "replaced card " + replaced.Serial
	}
	s.audit(r, auditRecord{kind: registry.KindRegistration, outcome: registry.OutcomeSuccess,
		identity: &x509cns.Identity{FiscalCode: reg.FiscalCode, Serial: reg.Serial, Issuer: reg.Issuer}, detail: detail})
}
