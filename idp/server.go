package idp

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/x509cns"
)

// Server holds the login service's parts and serves the public and cns
// listeners.
type Server struct {
	Pages     *web.Pages
	Front     *FrontDoor
	CNSOrigin string // e.g. https://login.example.it:8444
	Logger    *slog.Logger
}

// PublicHandler serves the public origin.
func (s *Server) PublicHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", web.Static()))
	mux.HandleFunc("GET /{$}", s.home)
	return mux
}

// CNSHandler serves the card listener.
func (s *Server) CNSHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", web.Static()))
	mux.HandleFunc("GET /cns/login", s.cnsLogin)
	return mux
}

type page struct {
	Lang      web.Lang
	Title     string
	LoginURL  string
	Identity  *x509cns.Identity
	Message   string
	Reason    string
	RequestID string
	BackURL   string
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	lang := web.LangFrom(r)
	s.render(w, r, http.StatusOK, "home.html", page{
		Lang: lang, Title: lang.T("home.title"),
		LoginURL: strings.TrimRight(s.CNSOrigin, "/") + "/cns/login",
	})
}

// cnsLogin judges the presented card. A JSON verdict is returned to clients
// that ask for one (Accept: application/json), a page to browsers.
func (s *Server) cnsLogin(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	res, err := s.Front.Authenticate(r)
	wantsJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	if err != nil {
		reason := x509cns.ReasonOf(err)
		s.Logger.WarnContext(r.Context(), "card refused", "reason", reason, "detail", err.Error(),
			"duration", time.Since(start))
		if wantsJSON {
			writeJSON(w, http.StatusForbidden, map[string]any{"verdict": "rejected", "reason": reason, "request_id": RequestID(r.Context())})
			return
		}
		s.Error(w, r, http.StatusForbidden, reason)
		return
	}
	s.Logger.InfoContext(r.Context(), "card accepted", "identity", *res.Identity, "duration", time.Since(start))
	if wantsJSON {
		writeJSON(w, http.StatusOK, map[string]any{"verdict": "accepted", "identity": res.Identity})
		return
	}
	lang := web.LangFrom(r)
	s.render(w, r, http.StatusOK, "card.html", page{Lang: lang, Title: lang.T("card.title"), Identity: res.Identity})
}

// Error renders the citizen's error page for a refusal reason.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, status int, reason x509cns.Reason) {
	lang := web.LangFrom(r)
	s.render(w, r, status, "error.html", page{
		Lang: lang, Title: lang.T("error.title"), Reason: string(reason),
		Message: web.ReasonMessage(lang, string(reason)), RequestID: RequestID(r.Context()),
	})
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data page) {
	if err := s.Pages.Render(w, status, name, data); err != nil {
		s.Logger.ErrorContext(r.Context(), "page not rendered", "page", name, "err", err)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
