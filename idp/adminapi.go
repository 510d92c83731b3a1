package idp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns"
)

// The admin API, on the admin listener, for the operator of the service:
// it reaches the sessions of the running process, which an administrative
// command cannot when they live in its memory. Every route needs
// "Authorization: Bearer <admin.token_file's content>"; bodies and answers
// are JSON.
//
//	POST   /admin/registrations/revoke  {"fiscal_code":"CF"} or {"fingerprint":"HEX"}
//	       revokes the citizen's registrations (or the one card's) and ends
//	       their sessions: 200 {"revoked":N,"sessions_ended":M};
//	       404 {"error":"not_registered"} when nothing was left to revoke
//	GET    /admin/registrations?fiscal_code=CF
//	       the citizen's cards and consents (adminapi_registrations.go)
//	GET    /admin/sessions?fiscal_code=CF
//	       the citizen's live sessions, oldest first: 200 {"sessions":[...]}
//	       (the session hash, never the id; card, times, relying parties)
//	DELETE /admin/sessions?fiscal_code=CF  (or ?fingerprint=HEX)
//	       ends them: 200 {"sessions_ended":M}
//
// Sessions end through the one session-ending path with cause admin:
// relying parties told, tokens revoked, sessions_ended_total{cause="admin"}.
// A missing or wrong token is 401 with a WWW-Authenticate header. Every
// call, refused or not, is logged, counted (cnsgate_admin_requests_total)
// and audited (kind admin_request).

// Admin API actions (the action label of cnsgate_admin_requests_total).
const (
	AdminActionRevoke       = "revoke"
	AdminActionListSessions = "list_sessions"
	AdminActionEndSessions  = "end_sessions"
)

// Admin API results (the result label of cnsgate_admin_requests_total and
// the reason of a refused call's audit event).
const (
	AdminResultSuccess      = "success"
	AdminResultUnauthorized = "unauthorized"
	AdminResultBadRequest   = "bad_request"
	AdminResultNotFound     = "not_found"
	AdminResultError        = "error"
)

// AdminRecorder is the optional ability of a Recorder to count admin API
// calls; idp/metrics implements it.
type AdminRecorder interface {
	AdminRequest(action, result string)
}

// AdminRegistry is what the admin API needs of the registry;
// *sqlstore.DB implements it.
type AdminRegistry interface {
	Revoke(ctx context.Context, fiscalCode string) (int, error)
	RevokeCard(ctx context.Context, fingerprint string) (int, error)
	// List, Consents and WithdrawConsent serve the registration view and
	// the consent's end (adminapi_registrations.go).
	List(ctx context.Context, f registry.ListFilter) ([]registry.Registration, error)
	Consents(ctx context.Context, fiscalCode string) ([]registry.Consent, error)
	WithdrawConsent(ctx context.Context, fiscalCode, channel string) (int, error)
}

// maxAdminBody bounds an admin API request body.
const maxAdminBody = 4 << 10

type adminAPI struct {
	s          *Service
	tokenHash  [sha256.Size]byte
	reg        AdminRegistry
	revocation RevocationStatus // nil: no /admin/revocation
}

// AdminAPI returns the admin API's handler (routes under /admin/), which
// accepts only the bearer token given; an empty token is refused by the
// caller, which mounts nothing then (the API is off unless configured).
func (s *Service) AdminAPI(token string, reg AdminRegistry, opts ...AdminOption) (http.Handler, error) {
	if token == "" {
		return nil, errors.New("admin API: empty token")
	}
	a := &adminAPI{s: s, tokenHash: sha256.Sum256([]byte(token)), reg: reg}
	for _, o := range opts {
		o(a)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /admin/registrations/revoke", a.guard(AdminActionRevoke, a.revoke))
	mux.Handle("GET /admin/registrations", a.guard(AdminActionListRegistrations, a.listRegistrations))
	mux.Handle("GET /admin/sessions", a.guard(AdminActionListSessions, a.listSessions))
	mux.Handle("DELETE /admin/sessions", a.guard(AdminActionEndSessions, a.endSessions))
	a.operatorRoutes(mux)   // adminapi_operators.go
	a.auditRoutes(mux)      // adminapi_audit.go
	a.revocationRoutes(mux) // revocationstate.go
	return mux, nil
}

// adminCall is one call to the admin API: what it targets, for the log and
// the audit trail, and how it ended.
type adminCall struct {
	action      string
	fiscalCode  string
	fingerprint string
	result      string
	detail      string
	status      int
	answer      any
	// filter, when set, is the search of the call, for its audit event
	// only (never logged: it may name a card).
	filter string
	// contentType and body, when set, are the answer instead of JSON.
	contentType string
	body        []byte
	headers     http.Header
}

type adminStep func(ctx context.Context, r *http.Request, c *adminCall)

// guard checks the bearer token, runs the step, then answers, logs, counts
// and audits the call, whatever its outcome.
func (a *adminAPI) guard(action string, step adminStep) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &adminCall{action: action}
		if problem := a.authorize(r); problem != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cnsgate-admin", error="invalid_token"`)
			c.fail(http.StatusUnauthorized, AdminResultUnauthorized, problem)
		} else {
			step(r.Context(), r, c)
		}
		a.finish(w, r, c)
	})
}

// authorize returns "" for a request carrying the right token, or why not.
// The comparison is of SHA-256 digests in constant time, so neither the
// token's bytes nor its length show in the timing.
func (a *adminAPI) authorize(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" {
		return "no bearer token"
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "not a bearer token"
	}
	got := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(got[:], a.tokenHash[:]) != 1 {
		return "wrong bearer token"
	}
	return ""
}

func (c *adminCall) fail(status int, result, detail string) {
	c.status, c.result, c.detail = status, result, detail
	c.answer = map[string]string{"error": result, "detail": detail}
}

func (c *adminCall) ok(answer any) {
	c.status, c.result, c.answer = http.StatusOK, AdminResultSuccess, answer
}

func (a *adminAPI) finish(w http.ResponseWriter, r *http.Request, c *adminCall) {
	ctx := r.Context()
	if rec, ok := a.s.recorder.(AdminRecorder); ok {
		rec.AdminRequest(c.action, c.result)
	}
	logArgs := []any{"action", c.action, "result", c.result, "status", c.status}
	if c.fiscalCode != "" {
		logArgs = append(logArgs, "fiscal_code", x509cns.MaskFiscalCode(c.fiscalCode))
	}
	if c.detail != "" {
		logArgs = append(logArgs, "detail", c.detail)
	}
	if c.status == http.StatusOK {
		a.s.logger.InfoContext(ctx, "admin API call", logArgs...)
	} else {
		a.s.logger.WarnContext(ctx, "admin API call refused", logArgs...)
	}
	e := registry.Event{Kind: registry.KindAdminRequest, Outcome: registry.OutcomeSuccess, FiscalCode: c.fiscalCode}
	if c.result != AdminResultSuccess {
		e.Outcome, e.Reason = registry.OutcomeFailure, c.result
	}
	detail := map[string]any{"action": c.action, "status": c.status}
	if c.fingerprint != "" {
		detail["fingerprint"] = c.fingerprint
	}
	if c.detail != "" {
		detail["detail"] = c.detail
	}
	if c.filter != "" {
		detail["filter"] = c.filter
	}
	e.Detail, _ = json.Marshal(detail)
	a.s.Audit(ctx, e)
	w.Header().Set("Cache-Control", "no-store")
	for k, vs := range c.headers {
		w.Header()[k] = vs
	}
	if c.body != nil && c.status == http.StatusOK {
		w.Header().Set("Content-Type", c.contentType)
		w.WriteHeader(c.status)
		_, _ = w.Write(c.body)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(c.status)
	_ = json.NewEncoder(w).Encode(c.answer)
}

// adminTarget is a citizen or a card, as the API names them.
type adminTarget struct {
	FiscalCode  string `json:"fiscal_code,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// check normalises the target and reports what is wrong with it; exactly
// one of the two must be given (the fingerprint only where cardOK).
func (t *adminTarget) check(cardOK bool) error {
	t.FiscalCode = x509cns.NormalizeFiscalCode(t.FiscalCode)
	t.Fingerprint = strings.ToLower(strings.TrimSpace(t.Fingerprint))
	switch {
	case t.FiscalCode != "" && t.Fingerprint != "":
		return errors.New("give fiscal_code or fingerprint, not both")
	case t.Fingerprint != "" && !cardOK:
		return errors.New("fiscal_code is required")
	case t.Fingerprint != "":
		if !isFingerprint(t.Fingerprint) {
			return errors.New("fingerprint must be the SHA-256 of the card certificate in hex (64 characters)")
		}
		return nil
	case t.FiscalCode == "":
		return errors.New("fiscal_code is required")
	}
	if err := x509cns.ValidateFiscalCode(t.FiscalCode); err != nil {
		return fmt.Errorf("fiscal_code: %s", maskedError(err, t.FiscalCode))
	}
	return nil
}

func isFingerprint(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// maskedError is err's text with the fiscal code in it masked.
func maskedError(err error, cf string) string {
	msg := err.Error()
	if len(cf) >= 4 {
		msg = strings.ReplaceAll(msg, cf, x509cns.MaskFiscalCode(cf))
	}
	return msg
}

// target reads the call's citizen or card from the body (POST) or the
// query (GET, DELETE) into c, or fails c.
func (a *adminAPI) target(r *http.Request, c *adminCall, cardOK bool) (adminTarget, bool) {
	var t adminTarget
	if r.Method == http.MethodPost {
		dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxAdminBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			c.fail(http.StatusBadRequest, AdminResultBadRequest, "body: "+err.Error())
			return t, false
		}
	} else {
		q := r.URL.Query()
		t = adminTarget{FiscalCode: q.Get("fiscal_code"), Fingerprint: q.Get("fingerprint")}
	}
	err := t.check(cardOK)
	c.fiscalCode, c.fingerprint = t.FiscalCode, t.Fingerprint
	if err != nil {
		c.fiscalCode = ""
		c.fail(http.StatusBadRequest, AdminResultBadRequest, err.Error())
		return t, false
	}
	return t, true
}

func (a *adminAPI) revoke(ctx context.Context, r *http.Request, c *adminCall) {
	t, ok := a.target(r, c, true)
	if !ok {
		return
	}
	var n int
	var err error
	if t.Fingerprint != "" {
		n, err = a.reg.RevokeCard(ctx, t.Fingerprint)
	} else {
		n, err = a.reg.Revoke(ctx, t.FiscalCode)
	}
	switch {
	case errors.Is(err, registry.ErrNotRegistered):
		c.fail(http.StatusNotFound, "not_registered", "no registration left to revoke")
		c.result = AdminResultNotFound
		return
	case err != nil:
		c.fail(http.StatusInternalServerError, AdminResultError, "registry: "+err.Error())
		return
	}
	if t.FiscalCode != "" {
		if err := a.s.WithdrawConsentBy(ctx, a.reg, t.FiscalCode, registry.ChannelAdminAPI); err != nil {
			c.fail(http.StatusInternalServerError, AdminResultError, fmt.Sprintf("%d registration(s) revoked but the consent not recorded withdrawn: %v", n, err))
			return
		}
	}
	ended, err := a.end(ctx, t)
	if err != nil {
		c.fail(http.StatusInternalServerError, AdminResultError, fmt.Sprintf("%d registration(s) revoked but sessions not ended: %v", n, err))
		return
	}
	c.ok(map[string]int{"revoked": n, "sessions_ended": ended})
}

func (a *adminAPI) end(ctx context.Context, t adminTarget) (int, error) {
	if t.Fingerprint != "" {
		return a.s.EndCardSessions(ctx, t.Fingerprint, CauseAdmin)
	}
	return a.s.EndCitizenSessions(ctx, t.FiscalCode, CauseAdmin)
}

func (a *adminAPI) endSessions(ctx context.Context, r *http.Request, c *adminCall) {
	t, ok := a.target(r, c, true)
	if !ok {
		return
	}
	ended, err := a.end(ctx, t)
	if err != nil {
		c.fail(http.StatusInternalServerError, AdminResultError, "sessions: "+err.Error())
		return
	}
	c.ok(map[string]int{"sessions_ended": ended})
}

// adminSession is a live session as the admin API shows it: never its id.
type adminSession struct {
	IDHash           string                 `json:"id_hash"`
	CardFingerprint  string                 `json:"card_fingerprint"`
	CardSerial       string                 `json:"card_serial,omitempty"`
	Issuer           string                 `json:"issuer,omitempty"`
	CardType         string                 `json:"card_type,omitempty"`
	AuthTime         time.Time              `json:"auth_time"`
	LastSeen         time.Time              `json:"last_seen"`
	AbsoluteDeadline time.Time              `json:"absolute_deadline"`
	Participants     []sessions.Participant `json:"participants"`
}

func (a *adminAPI) listSessions(ctx context.Context, r *http.Request, c *adminCall) {
	t, ok := a.target(r, c, false)
	if !ok {
		return
	}
	list, err := a.s.sessions.ListByFiscalCode(ctx, t.FiscalCode)
	if err != nil {
		c.fail(http.StatusInternalServerError, AdminResultError, "sessions: "+err.Error())
		return
	}
	out := make([]adminSession, 0, len(list))
	for _, s := range list {
		ps := s.Participants
		if ps == nil {
			ps = []sessions.Participant{}
		}
		out = append(out, adminSession{IDHash: s.IDHash, CardFingerprint: s.CardFingerprint, CardSerial: s.CardSerial,
			Issuer: s.Issuer, CardType: s.CardType, AuthTime: s.AuthTime, LastSeen: s.LastSeen,
			AbsoluteDeadline: s.AbsoluteDeadline, Participants: ps})
	}
	c.ok(map[string]any{"sessions": out})
}
