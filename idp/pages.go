package idp

import (
	"cmp"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns"
)

// page is the data every template receives; each page uses what it needs.
type page struct {
	Lang      web.Lang
	Title     string
	Heading   string
	LoginURL  string
	Identity  *x509cns.Identity
	Session   *sessions.Session
	Services  []ServiceLink
	Accesses  []access
	Message   string
	Reason    string
	RequestID string
	BackURL   string
	CSRF      string
	Req       string
	// LoggedIn shows "Esci" in the header.
	LoggedIn bool
	// RelyingParty is the service whose login this is, on the login page.
	RelyingParty *ServiceLink
	// CancelURL is "Annulla e torna al servizio" on the login page: the
	// request refused to the relying party (cancel.go), or its home page.
	CancelURL string
	// Fields are what the service will receive, on the data-release page;
	// ReleaseNote is the text key of its note.
	Fields      []ReleaseField
	ReleaseNote string
	// Account is "La mia tessera" (account.go).
	Account *accountView
	// Supersedes names the card a registration replaced (registered.html).
	Supersedes string
	// Error is a message above a form shown again (register.html).
	Error string
	// ConsentVersion is the version of the consent text (register.html).
	ConsentVersion string
}

// access is one line of the welcome page's "Ultimi accessi".
type access struct {
	At      time.Time // shown in the pages' time zone (web.Site.Location)
	Service string
	Event   string // what happened, in the history of "La mia tessera"
	Outcome string
	Detail  string // why a login failed
}

// recentAccesses is how many lines "Ultimi accessi" shows.
const recentAccesses = 5

func (s *Service) render(w http.ResponseWriter, r *http.Request, status int, name string, data page) {
	if err := s.pages.Render(w, status, name, data); err != nil {
		s.logger.ErrorContext(r.Context(), "page not rendered", "page", name, "err", err)
	}
}

// renderLogin renders the card login page (home.html) from a frame kept
// per language and relying party (web.Pages.RenderFramed): the request's
// login and cancel URLs are its only per-request values.
func (s *Service) renderLogin(w http.ResponseWriter, r *http.Request, lang web.Lang, loginURL string, rp *ServiceLink, cancel string) {
	key := string(lang)
	if rp != nil {
		key += "\x00" + rp.Name
	}
	err := s.pages.RenderFramed(w, http.StatusOK, "home.html", key, []string{loginURL, cancel}, func(v []string) any {
		return page{Lang: lang, Title: lang.T("home.title"), LoginURL: v[0], RelyingParty: rp, CancelURL: v[1]}
	})
	if err != nil {
		s.logger.ErrorContext(r.Context(), "page not rendered", "page", "home.html", "err", err)
	}
}

// notFound is the 404 page of both origins: in the citizen's language, with
// a title and a way back to the welcome page.
func (s *Service) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound, web.ErrorPage{
		TitleKey: "notfound.title", MessageKey: "notfound.text",
		BackURL: s.opts.Issuer + "/", BackKey: "notfound.back",
	})
}

// retryURL is where a refused card's way back leads: with a relying
// party's pending request req, the card login of that same request
// ("Riprova"), so that the request is not lost; otherwise the welcome page.
func (s *Service) retryURL(req string) string {
	if req == "" {
		return s.opts.Issuer + "/"
	}
	return s.loginURL(req)
}

// refuse renders the citizen's error page for a refusal reason; a way back
// to a pending request's card login reads "Riprova".
func (s *Service) refuse(w http.ResponseWriter, r *http.Request, status int, reason x509cns.Reason, backURL string) {
	e := web.ErrorPage{Reason: string(reason), BackURL: backURL}
	if strings.HasPrefix(backURL, s.loginURL("")+"?req=") {
		e.BackKey = "error.retrycard"
		if u, err := url.Parse(backURL); err == nil {
			e.CancelURL = s.cancelOffer(r, reqParam(u.Query().Get("req")))
		}
	}
	s.renderError(w, r, status, e)
}

// failPage renders an error page with a fixed message key.
func (s *Service) failPage(w http.ResponseWriter, r *http.Request, status int, titleKey, msgKey, backURL string) {
	s.renderError(w, r, status, web.ErrorPage{TitleKey: titleKey, MessageKey: msgKey, BackURL: backURL})
}

// renderError renders the one error page with the request's code.
func (s *Service) renderError(w http.ResponseWriter, r *http.Request, status int, e web.ErrorPage) {
	e.RequestID = RequestID(r.Context())
	if err := s.pages.RenderError(w, r, status, e); err != nil {
		s.logger.ErrorContext(r.Context(), "page not rendered", "page", "error.html", "err", err)
	}
}

// accessesFrom turns audit events into the welcome page's lines, at most
// limit: a card login is an access to cnsgate itself, an identity given to a
// relying party an access to that service, named as configured. The visit
// of a card before it was registered (not_registered: the card was read and
// "Registra TS-CNS" offered) is no failed access of the citizen, and is
// left out.
func accessesFrom(lang web.Lang, events []registry.Event, services []ServiceLink, limit int) []access {
	names := map[string]string{}
	for _, l := range services {
		names[l.ID] = l.Name
	}
	out := make([]access, 0, len(events))
	for _, e := range events {
		if len(out) == limit {
			break
		}
		if e.Outcome != registry.OutcomeSuccess && e.Reason == string(x509cns.ReasonNotRegistered) {
			continue
		}
		svc := lang.T("app.name")
		if e.Kind == registry.KindTokenIssued {
			svc = cmp.Or(names[e.Client], e.Client)
		}
		a := access{At: e.At, Service: svc, Outcome: lang.T("access.ok")}
		if e.Outcome != registry.OutcomeSuccess {
			a.Outcome, a.Detail = lang.T("access.failed"), web.ReasonMessage(lang, e.Reason)
		}
		out = append(out, a)
	}
	return out
}
