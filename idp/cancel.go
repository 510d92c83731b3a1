package idp

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
)

// PathCancel is the public origin's "Annulla" of a relying party's pending
// request: the request is taken and its protocol answers the relying party
// with a refusal (OIDC access_denied, SAML RequestDenied).
const PathCancel = "/cns/cancel"

// CancelFunc answers a relying party whose request the citizen cancelled:
// an error response to it (never a page of cnsgate's own).
type CancelFunc func(w http.ResponseWriter, r *http.Request, data json.RawMessage)

// RegisterCanceller makes the pending requests of kind cancellable;
// protocol packages call it with RegisterResumer.
func (s *Service) RegisterCanceller(kind string, fn CancelFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancellers[kind] = fn
}

func (s *Service) canceller(kind string) CancelFunc {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cancellers[kind]
}

// cancelURL is the "Annulla" of the pending request req; "" when req is
// empty (cnsgate's own login has no service to return to).
func (s *Service) cancelURL(req string) string {
	if req == "" {
		return ""
	}
	return s.opts.Issuer + PathCancel + "?req=" + url.QueryEscape(req)
}

// cancelOffer is the "Annulla" of a refusal page for the pending request
// req: "" when it is cnsgate's own login, unreadable or of a kind that
// cannot be cancelled.
func (s *Service) cancelOffer(r *http.Request, req string) string {
	if req == "" {
		return ""
	}
	raw, err := s.ephemeral.Get(r.Context(), nsPending, req)
	if err != nil {
		return ""
	}
	var p PendingRequest
	if json.Unmarshal(raw, &p) != nil || p.Kind == "" || s.canceller(p.Kind) == nil {
		return ""
	}
	return s.cancelURL(req)
}

// cancelLogin is GET /cns/cancel?req=…: only the browser that made the
// request may cancel it (its login cookie); the request is spent, audited
// and answered by its protocol.
func (s *Service) cancelLogin(w http.ResponseWriter, r *http.Request) {
	req := reqParam(r.URL.Query().Get("req"))
	if req == "" {
		s.cancelRefused(w, r, "", "cancel without a pending request")
		return
	}
	raw, err := s.ephemeral.Get(r.Context(), nsPending, req)
	if err != nil {
		if isDomainErr(err) {
			s.cancelRefused(w, r, "", "pending request unknown or expired")
			return
		}
		s.unavailable(w, r, "sessions", err)
		return
	}
	var p PendingRequest
	if json.Unmarshal(raw, &p) != nil || p.Kind == "" {
		s.cancelRefused(w, r, "", "pending request unreadable or of cnsgate itself")
		return
	}
	if err := sameBrowser(r, p.Browser); err != nil {
		s.cancelRefused(w, r, p.Client, "cancel from another browser: "+err.Error())
		return
	}
	fn := s.canceller(p.Kind)
	if fn == nil {
		s.cancelRefused(w, r, p.Client, "pending request of a kind that cannot be cancelled: "+p.Kind)
		return
	}
	if _, err := s.ephemeral.Take(r.Context(), nsPending, req); err != nil {
		if isDomainErr(err) {
			s.cancelRefused(w, r, p.Client, "pending request already spent")
			return
		}
		s.unavailable(w, r, "sessions", err)
		return
	}
	s.cancelled(w, r, p, "login cancelled (Annulla)")
}

// cancelled audits and counts the citizen's refusal and lets the protocol
// answer the relying party.
func (s *Service) cancelled(w http.ResponseWriter, r *http.Request, p PendingRequest, detail string) {
	s.logger.InfoContext(r.Context(), "request cancelled by the citizen", "client", p.Client, "kind", p.Kind, "detail", detail)
	if rec, ok := s.recorder.(AccessRecorder); ok {
		rec.AccessDenied(p.Client, AccessCancelled)
	}
	d, _ := json.Marshal(map[string]string{"detail": detail})
	s.Audit(r.Context(), registry.Event{Kind: registry.KindAccessDenied, Outcome: registry.OutcomeFailure, Reason: AccessCancelled,
		Client: p.Client, Detail: d})
	if p.Lang != "" {
		r = r.WithContext(web.WithLang(r.Context(), web.Lang(p.Lang)))
	}
	s.canceller(p.Kind)(w, r, p.Data)
}

func (s *Service) cancelRefused(w http.ResponseWriter, r *http.Request, client, detail string) {
	s.logger.WarnContext(r.Context(), "cancel refused", "client", client, "detail", detail)
	s.audit(r, auditRecord{kind: registry.KindLogin, outcome: registry.OutcomeFailure, detail: detail})
	s.failPage(w, r, http.StatusBadRequest, "request.title", "cancel.invalid", s.opts.Issuer+"/")
}
