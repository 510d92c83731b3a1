package idp

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
)

// Who may use which service: each relying party has an audience (citizens,
// operators or all) and optional required roles. The protocol packages ask
// Permit before issuing anything; the welcome page lists only the services
// Allowed to the person.

// Audiences of a relying party.
const (
	AudienceAll       = "all"       // anyone logged in (the default)
	AudienceCitizens  = "citizens"  // a login without operator roles
	AudienceOperators = "operators" // a login with operator roles (an operator card)
)

// Access refusal reasons (the reason label of cnsgate_access_denied_total
// and of the access_denied audit event).
const (
	AccessOperatorsOnly = "operators_only"
	AccessCitizensOnly  = "citizens_only"
	AccessMissingRole   = "missing_role"
	// AccessCancelled is the citizen's own "Annulla" (cancel.go, release.go).
	AccessCancelled = "cancelled"
)

// AccessReasons are every refusal reason, for the metrics' fixed label set.
var AccessReasons = []string{AccessOperatorsOnly, AccessCitizensOnly, AccessMissingRole, AccessCancelled}

// AccessRecorder is the optional ability of a Recorder to count refused
// assertions; idp/metrics implements it.
type AccessRecorder interface {
	AccessDenied(client, reason string)
}

// denial returns "" when the session may use the service, or the reason
// it may not. A service that is not configured here (no ServiceLink)
// admits everyone: its protocol package has already checked it exists.
func (l ServiceLink) denial(sess *sessions.Session) string {
	operator := len(sess.Roles) > 0
	switch l.Audience {
	case AudienceOperators:
		if !operator {
			return AccessOperatorsOnly
		}
	case AudienceCitizens:
		if operator {
			return AccessCitizensOnly
		}
	}
	for _, need := range l.RequiredRoles {
		if !slices.Contains(sess.Roles, need) {
			return AccessMissingRole
		}
	}
	return ""
}

// service returns the configured relying party with this id.
func (s *Service) service(id string) (ServiceLink, bool) {
	for _, l := range s.opts.Services {
		if l.ID == id {
			return l, true
		}
	}
	return ServiceLink{}, false
}

// Allowed lists the services the session may use and that have a home
// page, for "Servizi attivi".
func (s *Service) Allowed(sess *sessions.Session) []ServiceLink {
	var out []ServiceLink
	for _, l := range s.opts.Services {
		if l.URL != "" && (sess == nil || l.denial(sess) == "") {
			out = append(out, l)
		}
	}
	return out
}

// Permit reports whether the session may receive an assertion for client
// (an OIDC client id or a SAML SP entity id). When not, it answers with the
// page naming the service (403, in the person's language), and the refusal
// is logged, counted and audited (Refused); the caller issues nothing.
func (s *Service) Permit(w http.ResponseWriter, r *http.Request, sess *sessions.Session, client string) bool {
	reason := s.Refused(r, sess, client)
	if reason == "" {
		return true
	}
	l, _ := s.service(client)
	key := map[string]string{AccessOperatorsOnly: "denied.operators", AccessCitizensOnly: "denied.citizens", AccessMissingRole: "denied.roles"}[reason]
	s.renderError(w, r, http.StatusForbidden, web.ErrorPage{TitleKey: "denied.title", MessageKey: key, Args: []any{l.Name}, BackURL: s.opts.Issuer + "/"})
	return false
}

// Refused returns "" when the session may receive an assertion for client,
// or the reason it may not, having logged, counted and audited the refusal.
// A protocol that must show no page (OIDC prompt=none) answers the relying
// party with the reason itself.
func (s *Service) Refused(r *http.Request, sess *sessions.Session, client string) string {
	l, ok := s.service(client)
	if !ok {
		return ""
	}
	reason := l.denial(sess)
	if reason == "" {
		return ""
	}
	ctx := r.Context()
	s.logger.WarnContext(ctx, "assertion refused: the service is not for this person",
		"client", client, "reason", reason, "audience", l.Audience, "session", sess)
	if rec, ok := s.recorder.(AccessRecorder); ok {
		rec.AccessDenied(client, reason)
	}
	detail, _ := json.Marshal(map[string]any{"audience": l.Audience, "required_roles": l.RequiredRoles, "card_type": sess.CardType})
	s.Audit(ctx, registry.Event{Kind: registry.KindAccessDenied, Outcome: registry.OutcomeFailure, Reason: reason,
		FiscalCode: sess.FiscalCode, Client: client, SessionHash: sess.IDHash, Detail: detail})
	return reason
}
