package idp

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// Form tokens against cross-site request forgery. A token is a random
// value kept in the shared ephemeral store (so any replica can check it)
// together with what it is bound to: the card fingerprint and pending
// request for registration, the session for logout. A token is accepted
// only for the same binding and only within its lifetime.

const (
	nsCSRF  = "csrf"
	csrfTTL = 15 * time.Minute
)

// issueCSRF returns a new token bound to binding.
func (s *Service) issueCSRF(ctx context.Context, binding string) (string, error) {
	tok, err := s.newID()
	if err != nil {
		return "", err
	}
	if err := s.ephemeral.Put(ctx, nsCSRF, tok, []byte(binding), csrfTTL); err != nil {
		return "", err
	}
	return tok, nil
}

// checkCSRF consumes the form's token and reports whether it was issued for
// binding. Store errors other than "not found" are returned as they are.
func (s *Service) checkCSRF(ctx context.Context, r *http.Request, binding string) (bool, error) {
	tok := r.PostFormValue("csrf")
	if tok == "" {
		return false, nil
	}
	got, err := s.ephemeral.Take(ctx, nsCSRF, tok)
	if err != nil {
		if isDomainErr(err) {
			return false, nil
		}
		return false, err
	}
	return subtle.ConstantTimeCompare(got, []byte(binding)) == 1, nil
}

// checkLogoutCSRF consumes a logout form's token, which is bound to the
// session and to where the browser goes afterwards ("" for the logged-out
// page), and returns that destination.
func (s *Service) checkLogoutCSRF(ctx context.Context, r *http.Request, binding string) (next string, ok bool, err error) {
	tok := r.PostFormValue("csrf")
	if tok == "" {
		return "", false, nil
	}
	got, err := s.ephemeral.Take(ctx, nsCSRF, tok)
	if err != nil {
		if isDomainErr(err) {
			return "", false, nil
		}
		return "", false, err
	}
	prefix := binding + "|"
	if len(got) < len(prefix) || subtle.ConstantTimeCompare(got[:len(prefix)], []byte(prefix)) != 1 {
		return "", false, nil
	}
	return string(got[len(prefix):]), true, nil
}

// sameOrigin refuses a POST whose Origin (or, lacking it, Referer) names
// another origin than want. Browsers send Origin on every form POST; a
// request with neither header comes from a non-browser client and is judged
// by its token alone.
func sameOrigin(r *http.Request, want string) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return o == want
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		return err == nil && u.Scheme+"://"+u.Host == want
	}
	return true
}

// SessionCookie is the name of the public origin's session cookie. The
// __Host- prefix pins it to the exact origin: Secure, Path=/, no Domain.
const SessionCookie = "__Host-cnsgate_session"

// setSessionCookie sets a browser-session cookie: no Expires, no Max-Age,
// so closing the browser ends it, as the logged-out page tells the citizen.
// The idle and absolute timeouts are the session store's, enforced on every
// request (CurrentSession), whatever the browser keeps.
func setSessionCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: id, Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// CurrentSession returns the live session of the request's cookie. It
// reports sessions.ErrNotFound when there is none; a session found past a
// deadline is ended (its parties told) and reported as not found too, and
// so is one whose card the cached CRL now lists (SessionUsable): every SSO
// (/authorize, /saml/sso) starts here.
func (s *Service) CurrentSession(r *http.Request) (*sessions.Session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, sessions.ErrNotFound
	}
	sess, err := s.sessions.Get(r.Context(), c.Value)
	if err != nil {
		s.SessionExpired(r.Context(), err)
		if isDomainErr(err) {
			return nil, sessions.ErrNotFound
		}
		return nil, err
	}
	if err := s.SessionUsable(r.Context(), sess); err != nil {
		// Ended: the caller sees no session, as after a logout.
		return nil, sessions.ErrNotFound
	}
	if err := s.sessions.Touch(r.Context(), c.Value); err != nil {
		// A deadline passed since Get: the session ends here.
		s.SessionExpired(r.Context(), err)
		if !isDomainErr(err) {
			return nil, err
		}
	}
	return sess, nil
}
