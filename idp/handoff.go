package idp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/x509cns"
)

// The handoff is bound to the browser that started the login, against login
// CSRF: an attacker who logs in with their own card and stops before
// /cns/complete must not be able to plant that session in a victim's browser
// by sending them the link.
//
// The binding is a random nonce in a short-lived __Host- cookie of the
// public origin, set when the public origin sends the browser to the card
// listener (BeginLogin, and /cns/start for cnsgate's own "Accedi con
// TS/CNS"). The pending request holds the nonce's SHA-256, the card listener
// copies it into the handoff record, and /cns/complete redeems a code only
// for the browser whose cookie hashes to it.
//
// Only the public origin can set that cookie: cns_origin may be another host,
// whose cookies the public origin never sees. So a login that starts on the
// card listener (a bookmarked /cns/login, "Continua" after registering) is
// first sent, once its card is accepted, through /cns/start on the public
// origin, which sets the cookie and sends it back with a bound request. The
// nonce is never carried in a URL or form from the card listener: whatever
// the card listener hands to the browser an attacker could forward to the
// victim as well, which is exactly the attack. The round trip costs a second
// card handshake only for logins that start on the card listener.
const (
	// LoginCookie is the name of the browser-binding nonce cookie of the
	// public origin.
	LoginCookie = "__Host-cnsgate_login"
	// PathStart is the public origin's first-party start of a card login.
	PathStart = "/cns/start"
)

// The details of a refused redemption, and of a request without a code.
var (
	errNoCode          = errors.New("no handoff code")
	errNoLoginCookie   = errors.New("handoff code redeemed by a browser without the login cookie of the browser that started the login")
	errOtherLoginNonce = errors.New("handoff code redeemed by a browser whose login cookie is not the one of the browser that started the login")
)

// nonceHash is what the stores hold of a nonce.
func nonceHash(nonce string) string {
	sum := sha256.Sum256([]byte(nonce))
	return hex.EncodeToString(sum[:])
}

// bindBrowser returns the hash of the browser's login nonce, setting the
// cookie: the browser's own nonce when it holds a well-formed one (two tabs
// logging in at once share it), a fresh one otherwise.
func (s *Service) bindBrowser(w http.ResponseWriter, r *http.Request) (string, error) {
	nonce := ""
	if c, err := r.Cookie(LoginCookie); err == nil {
		nonce = reqParam(c.Value)
	}
	if nonce == "" {
		var err error
		if nonce, err = s.newID(); err != nil {
			return "", err
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: LoginCookie, Value: nonce, Path: "/", MaxAge: int(s.opts.Limits.PendingTTL.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	return nonceHash(nonce), nil
}

// storePending binds p to the browser and stores it, once the client IP is
// within its rate and the record within MaxPendingBytes; it returns the
// request id, or "" when it has answered (429, 400 or 503).
func (s *Service) storePending(w http.ResponseWriter, r *http.Request, p PendingRequest) string {
	if s.limiter != nil {
		ip := clientIP(r)
		if v := s.limiter.allow(ip); !v.ok {
			s.rateLimited(w, r, ip, v)
			return ""
		}
	}
	hash, err := s.bindBrowser(w, r)
	if err != nil {
		s.unavailable(w, r, "random", err)
		return ""
	}
	p.Browser = hash
	id, err := s.newID()
	if err != nil {
		s.unavailable(w, r, "random", err)
		return ""
	}
	raw, _ := json.Marshal(p)
	if len(raw) > MaxPendingBytes {
		s.logger.WarnContext(r.Context(), "pending request refused", "kind", p.Kind, "bytes", len(raw), "max_bytes", MaxPendingBytes)
		s.failPage(w, r, http.StatusBadRequest, "request.title", "pending.toolarge", "")
		return ""
	}
	if err := s.ephemeral.Put(r.Context(), nsPending, id, raw, s.opts.Limits.PendingTTL); err != nil {
		s.unavailable(w, r, "sessions", err)
		return ""
	}
	return id
}

// startLogin is GET /cns/start: a card login of cnsgate itself (its own
// welcome page), bound to this browser, continued on the card listener.
func (s *Service) startLogin(w http.ResponseWriter, r *http.Request) {
	if id := s.storePending(w, r, PendingRequest{}); id != "" {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, s.loginURL(id), http.StatusSeeOther)
	}
}

// browserOf returns the browser binding and the relying party of the
// pending request req, "" when there is none (no request, expired, or
// stored before binding existed).
func (s *Service) browserOf(ctx context.Context, req string) (browser, client string, err error) {
	p, err := s.pendingOf(ctx, req)
	return p.Browser, p.Client, err
}

// pendingOf reads the pending request req, from what this request read of
// it already when it did (pendingRead), else from the store. No request,
// an expired or unreadable one is the zero PendingRequest; only a store
// failure is an error.
func (s *Service) pendingOf(ctx context.Context, req string) (PendingRequest, error) {
	var p PendingRequest
	if req == "" {
		return p, nil
	}
	raw, err := pendingRead(ctx, req)
	if errors.Is(err, errNoMemo) {
		raw, err = s.ephemeral.Get(ctx, nsPending, req)
	}
	if err != nil {
		if isDomainErr(err) {
			return p, nil
		}
		return p, err
	}
	if json.Unmarshal(raw, &p) != nil {
		return PendingRequest{}, nil
	}
	return p, nil
}

// pendingLang returns r speaking the language of the pending request req
// (PendingRequest.Lang) when it names one: the pages of the card listener
// follow what the relying party asked at the start of the login. A request
// that cannot be read leaves r as it is; the flow reports the store's
// failure itself.
func (s *Service) pendingLang(r *http.Request, req string) *http.Request {
	if req == "" {
		return r
	}
	raw, err := s.ephemeral.Get(r.Context(), nsPending, req)
	if err != nil && !isDomainErr(err) {
		return r
	}
	// What was read serves the rest of this request (browserOf): one
	// read of the pending request, not two.
	r = r.WithContext(context.WithValue(r.Context(), pendingMemoKey{}, &pendingMemo{req: req, raw: raw, err: err}))
	var p PendingRequest
	if err != nil || json.Unmarshal(raw, &p) != nil || p.Lang == "" {
		return r
	}
	return r.WithContext(web.WithLang(r.Context(), web.Lang(p.Lang)))
}

// pendingMemo is the pending request pendingLang read, kept in the
// request's context: its value, or the not-found error the store gave.
type pendingMemo struct {
	req string
	raw []byte
	err error
}

type pendingMemoKey struct{}

// errNoMemo: the request's context holds no read of that pending request.
var errNoMemo = errors.New("idp: pending request not read in this request")

// pendingRead returns what pendingLang read of req in this request, or
// errNoMemo.
func pendingRead(ctx context.Context, req string) ([]byte, error) {
	m, _ := ctx.Value(pendingMemoKey{}).(*pendingMemo)
	if m == nil || m.req != req {
		return nil, errNoMemo
	}
	return m.raw, m.err
}

// sameBrowser reports, with the reason when not, whether the request comes
// from the browser whose nonce hashes to want.
func sameBrowser(r *http.Request, want string) error {
	c, err := r.Cookie(LoginCookie)
	if err != nil || reqParam(c.Value) == "" {
		return errNoLoginCookie
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(nonceHash(c.Value)), []byte(want)) != 1 {
		return errOtherLoginNonce
	}
	return nil
}

// takeHandoff redeems the single-use code of the request for the browser
// that started the login. When it cannot, it has answered: the refusal
// page, or 503 when the store is down. A code shown to another browser is
// refused without being spent, so the citizen's own browser still
// completes.
func (s *Service) takeHandoff(w http.ResponseWriter, r *http.Request) (*handoff, bool) {
	code := r.URL.Query().Get("code")
	h, err := s.readHandoff(r.Context(), code, s.ephemeral.Get)
	if !s.handoffFound(w, r, h, err) {
		return nil, false
	}
	r = s.pendingLang(r, h.Req) // a refusal speaks the login's language
	if err := sameBrowser(r, h.Browser); err != nil {
		sess := h.Session
		s.loginFailed(r, x509cns.ReasonHandoffMismatch, err,
			&x509cns.Identity{FiscalCode: sess.FiscalCode, Serial: sess.CardSerial, Issuer: sess.Issuer})
		s.refuse(w, r, http.StatusForbidden, x509cns.ReasonHandoffMismatch, s.opts.Issuer+"/")
		return nil, false
	}
	h, err = s.readHandoff(r.Context(), code, s.ephemeral.Take)
	if !s.handoffFound(w, r, h, err) {
		return nil, false
	}
	return h, true
}

type readFunc func(ctx context.Context, ns, key string) ([]byte, error)

func (s *Service) readHandoff(ctx context.Context, code string, read readFunc) (*handoff, error) {
	if code == "" {
		return nil, errNoCode
	}
	raw, err := read(ctx, nsHandoff, code)
	if err != nil {
		return nil, err
	}
	var h handoff
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// handoffFound reports whether h is a handoff to redeem; when not, it has
// answered.
func (s *Service) handoffFound(w http.ResponseWriter, r *http.Request, h *handoff, err error) bool {
	var syntax *json.SyntaxError
	if err != nil && !isDomainErr(err) && !errors.As(err, &syntax) && !errors.Is(err, errNoCode) {
		s.unavailable(w, r, "sessions", err)
		return false
	}
	if err != nil || h == nil || h.Session == nil {
		s.handoffRefused(r, err)
		s.failPage(w, r, http.StatusBadRequest, "error.title", "handoff.invalid", s.opts.Issuer+"/")
		return false
	}
	return true
}
