package idp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/x509cns"
)

// The security team's console, on an origin and a listener of its own
// (listen.console). A member of the team logs in with an operator card
// through cnsgate's own card login: the console is a built-in OpenID
// Connect client (ConsoleClientID) with PKCE, whose audience is operators
// and whose required role is ConsoleOptions.Role, so the login service
// refuses a citizen or an operator without the role with its own page
// ("Accesso non consentito") before the console is reached. The code is
// exchanged in the process (ConsoleOptions.Exchange), never over the
// network.
//
// The console's session is a random id in a __Host- cookie (Secure,
// HttpOnly, SameSite=Strict) whose SHA-256 keys a record in the ephemeral
// store; each POST carries the session's CSRF token and comes from the
// console's origin. Every action (search, export, citizen's page, end
// session, revoke) is audited (kind console_action) with the operator's
// fiscal code; sessions end through the one session-ending path (cause
// admin), so relying parties are told.

// ConsoleClientID is the console's OpenID Connect client.
const ConsoleClientID = "cnsgate-console"

// KindConsoleAction is an act of the security team's console; its reason
// is the action, its fiscal code the operator's.
const KindConsoleAction registry.EventKind = "console_action"

// Console cookies.
const (
	ConsoleCookie      = "__Host-cnsgate_console"
	consoleLoginCookie = "__Host-cnsgate_console_login"
	nsConsole          = "console"
	nsConsoleLogin     = "console_login"
)

// ConsoleIdentity is who logged in to the console, from the ID token.
type ConsoleIdentity struct {
	FiscalCode string
	Name       string
	Roles      []string
}

// ConsoleOptions configure the console.
type ConsoleOptions struct {
	Origin string // https://console.example.it
	Role   string // the operator role required
	// Exchange redeems an authorization code of ConsoleClientID at the
	// provider's token endpoint, in the process, and returns the identity
	// of its ID token (whose nonce must be nonce).
	Exchange func(ctx context.Context, code, verifier, redirectURI, nonce string) (ConsoleIdentity, error)
	Store    AuditStore
	History  HistoryStore
	Revoker  AdminRegistry
	// Revocation is the state of revocation checking; nil when off.
	Revocation RevocationStatus
}

type console struct {
	s *Service
	o ConsoleOptions
}

// consoleSession is the record of a console session.
type consoleSession struct {
	FiscalCode string `json:"fiscal_code"`
	Name       string `json:"name"`
	CSRF       string `json:"csrf"`
}

// Console returns the console's handler.
func (s *Service) Console(o ConsoleOptions) (http.Handler, error) {
	if o.Origin == "" || o.Role == "" || o.Exchange == nil || o.Store == nil || o.History == nil || o.Revoker == nil {
		return nil, errors.New("console: origin, role, exchange and the registry are required")
	}
	c := &console{s: s, o: o}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", s.pages.Static()))
	mux.HandleFunc("GET /login", c.login)
	mux.HandleFunc("GET /callback", c.callback)
	mux.HandleFunc("GET /{$}", c.authed(c.dashboard))
	mux.HandleFunc("GET /revocation", c.authed(c.revocation))
	mux.HandleFunc("GET /audit", c.authed(c.audit))
	mux.HandleFunc("GET /audit.csv", c.authed(c.auditCSV))
	mux.HandleFunc("GET /citizen", c.authed(c.citizen))
	mux.HandleFunc("POST /citizen/end-session", c.authedPost(c.endSession))
	mux.HandleFunc("POST /citizen/revoke", c.authedPost(c.revoke))
	mux.HandleFunc("POST /logout", c.authedPost(c.logout))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l := web.LangOf(r.URL.Query().Get("lang")); l != "" {
			r = r.WithContext(web.WithLang(r.Context(), l))
		}
		mux.ServeHTTP(w, r)
	}), nil
}

func consoleKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

type consoleHandler func(w http.ResponseWriter, r *http.Request, sess *consoleSession)

// session returns the request's console session, nil when there is none.
func (c *console) session(r *http.Request) (*consoleSession, error) {
	ck, err := r.Cookie(ConsoleCookie)
	if err != nil || reqParam(ck.Value) == "" {
		return nil, nil
	}
	raw, err := c.s.ephemeral.Get(r.Context(), nsConsole, consoleKey(ck.Value))
	if err != nil {
		if isDomainErr(err) {
			return nil, nil
		}
		return nil, err
	}
	var sess consoleSession
	if json.Unmarshal(raw, &sess) != nil {
		return nil, nil
	}
	return &sess, nil
}

// authed serves the page to a logged-in operator, the login page otherwise.
func (c *console) authed(h consoleHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := c.session(r)
		if err != nil {
			c.s.unavailable(w, r, "sessions", err)
			return
		}
		if sess == nil {
			c.loginPage(w, r, http.StatusOK, "", "")
			return
		}
		h(w, r, sess)
	}
}

// authedPost is authed for a form: from the console's origin, with the
// session's CSRF token, or 403.
func (c *console) authedPost(h consoleHandler) http.HandlerFunc {
	return c.authed(func(w http.ResponseWriter, r *http.Request, sess *consoleSession) {
		r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
		origin := r.Header.Get("Origin")
		tok := r.PostFormValue("csrf")
		if origin != c.o.Origin || tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(sess.CSRF)) != 1 {
			c.s.logger.WarnContext(r.Context(), "console form refused", "reason", "csrf", "origin", origin)
			c.act(r, sess, "csrf", registry.OutcomeFailure, "", map[string]any{"path": r.URL.Path})
			c.loginPage(w, r, http.StatusForbidden, web.LangFrom(r).T("console.csrf"), "/?lang="+string(web.LangFrom(r)))
			return
		}
		h(w, r, sess)
	})
}

// act audits an action of the console with the operator's fiscal code;
// target, the citizen acted upon, is named masked (its own events, such as
// the sessions' ends, carry it in full).
func (c *console) act(r *http.Request, sess *consoleSession, action string, outcome registry.Outcome, target string, detail map[string]any) {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["console"] = c.o.Origin
	if target != "" {
		detail["target"] = x509cns.MaskFiscalCode(target)
	}
	raw, _ := json.Marshal(detail)
	e := registry.Event{Kind: KindConsoleAction, Outcome: outcome, Reason: action, Client: ConsoleClientID,
		FiscalCode: sess.FiscalCode, Detail: raw}
	if ip := clientIP(r); ip.IsValid() {
		e.RemoteIP = ip.String()
	}
	c.s.Audit(r.Context(), e)
}

// consolePage is what every console page shows.
type consolePage struct {
	Lang       web.Lang
	Title      string
	LoggedIn   bool // the public origin's "Esci": never on the console
	Operator   string
	CSRF       string
	Nav        string
	Flash      string
	Error      string
	LangSwitch string
}

func (c *console) page(r *http.Request, sess *consoleSession, titleKey, nav string) consolePage {
	lang := web.LangFrom(r)
	p := consolePage{Lang: lang, Title: lang.T(titleKey), Nav: nav}
	if sess != nil {
		p.Operator, p.CSRF = sess.Name, sess.CSRF
	}
	q := r.URL.Query()
	other := web.English
	if lang == web.English {
		other = web.Italian
	}
	q.Set("lang", string(other))
	path := r.URL.Path
	if r.Method != http.MethodGet {
		path, q = "/", url.Values{"lang": {string(other)}}
	}
	p.LangSwitch = path + "?" + q.Encode()
	return p
}

func (c *console) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	if err := c.s.pages.Render(w, status, name, data); err != nil {
		c.s.logger.ErrorContext(r.Context(), "console page not rendered", "page", name, "err", err)
	}
}

// consoleLogin is the login page's data.
type consoleLogin struct {
	consolePage
	ContinueURL string
}

func (c *console) loginPage(w http.ResponseWriter, r *http.Request, status int, errText, cont string) {
	p := consoleLogin{consolePage: c.page(r, nil, "console.login.title", ""), ContinueURL: cont}
	p.Error = errText
	c.render(w, r, status, "console_login.html", p)
}
