package idp

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
)

// A pending request is a relying party's login request waiting for the
// citizen's card: an OIDC authorization request, a SAML AuthnRequest, or a
// page of cnsgate itself. It lives in the shared ephemeral store so that the
// replica that finishes the login may not be the one that started it.

const (
	nsPending  = "authz" // TTL: Options.Limits.PendingTTL
	nsHandoff  = "handoff"
	handoffTTL = 30 * time.Second
)

// PendingRequest is what a protocol stores while the citizen logs in.
type PendingRequest struct {
	// Kind selects the ResumeFunc that finishes the request ("oidc", "saml").
	Kind string `json:"kind"`
	// Data is the protocol's own state, opaque to idp.
	Data json.RawMessage `json:"data,omitempty"`
	// ForceLogin asks for a card login even when a session is live (OIDC
	// prompt=login, max_age exceeded; SAML ForceAuthn).
	ForceLogin bool `json:"force_login,omitempty"`
	// Browser is the SHA-256 of the login nonce of the browser that made
	// the request (handoff.go); BeginLogin sets it.
	Browser string `json:"browser,omitempty"`
	// Lang is the language the relying party asked the pages to speak
	// (OIDC ui_locales), before Accept-Language; "" leaves it to the
	// browser. Every page of the login it leads to speaks it (pendingLang).
	Lang string `json:"lang,omitempty"`
	// Client is the relying party asking (OIDC client_id, SAML SP entity
	// id): the login page names it ("Stai accedendo a …") from
	// Options.RelyingParties and links back to its home page.
	Client string `json:"client,omitempty"`
}

// ResumeFunc finishes a pending request once the citizen has a session:
// it answers the relying party (a redirect or an auto-posting form).
type ResumeFunc func(w http.ResponseWriter, r *http.Request, sess *sessions.Session, data json.RawMessage)

// RegisterResumer makes kind resumable; protocol packages call it when
// cmd/cnsgate wires them.
func (s *Service) RegisterResumer(kind string, fn ResumeFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resumers[kind] = fn
}

func (s *Service) resumer(kind string) ResumeFunc {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.resumers[kind]
}

// BeginLogin answers a relying party's login request: at once when the
// browser has a live session (single sign-on) and no fresh login is asked,
// otherwise with the "Accedi con TS/CNS" page whose button carries the
// stored request to the card listener.
func (s *Service) BeginLogin(w http.ResponseWriter, r *http.Request, p PendingRequest) {
	if !p.ForceLogin {
		sess, err := s.CurrentSession(r)
		switch {
		case err == nil:
			if fn := s.resumer(p.Kind); fn != nil {
				fn(w, r, sess, p.Data)
				return
			}
		case !errors.Is(err, sessions.ErrNotFound):
			s.unavailable(w, r, "sessions", err)
			return
		}
	}
	id := s.storePending(w, r, p)
	if id == "" {
		return
	}
	cancel := ""
	if s.canceller(p.Kind) != nil {
		cancel = s.cancelURL(id)
	}
	s.loginPage(w, r, id, s.relyingParty(p.Client), cancel)
}

// relyingParty is the configured relying party of that id; nil for
// cnsgate's own login or one not configured.
func (s *Service) relyingParty(id string) *ServiceLink {
	if id == "" {
		return nil
	}
	for i, rp := range s.opts.RelyingParties {
		if rp.ID == id {
			return &s.opts.RelyingParties[i]
		}
	}
	return nil
}

// loginPage is "Accedi con TS/CNS": its button carries the pending request
// req to the card listener, or, for cnsgate's own login (req ""), goes
// through /cns/start, which binds the login to the browser first. Reached
// from a relying party rp, it names the service and offers the way back to
// it: cancel (the request refused to it), or else its home page.
func (s *Service) loginPage(w http.ResponseWriter, r *http.Request, req string, rp *ServiceLink, cancel string) {
	lang := web.LangFrom(r)
	u := s.opts.Issuer + PathStart
	if req != "" {
		u = s.loginURL(req)
	}
	if cancel == "" && rp != nil {
		cancel = rp.URL
	}
	s.renderLogin(w, r, lang, u, rp, cancel)
}

// handoff is what a handoff code stands for: the record of the session to
// create and the pending request to resume.
type handoff struct {
	Session *sessions.Session `json:"session"`
	Req     string            `json:"req,omitempty"`
	// Browser is the pending request's browser binding: only the browser
	// whose login cookie hashes to it may redeem the code.
	Browser string `json:"browser"`
	// Note is what the login's audit event says besides its outcome (the
	// operator roles withheld from this card).
	Note string `json:"note,omitempty"`
	// Client is the pending request's relying party, for the login's
	// audit event (read once, on the card listener).
	Client string `json:"client,omitempty"`
}
