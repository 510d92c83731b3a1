package esenzioni

import (
	"crypto/subtle"
	"encoding/base64"
	"io"
	"sync"
	"time"
)

// pendingLogin is a login sent to the provider and not back yet: what the
// callback must find again.
type pendingLogin struct {
	state    string
	nonce    string
	verifier string // PKCE code_verifier
	expires  time.Time
}

// session is a citizen logged in to the relying party.
type session struct {
	subject    string
	sid        string // the provider's session, named in logout tokens
	fiscalCode string
	givenName  string
	familyName string
	csrf       string // the token of this session's forms
	expires    time.Time

	// mu guards the tokens, which a refresh replaces; it also keeps two
	// requests from refreshing at once (the provider takes a refresh
	// token once, and a second use revokes them all).
	mu           sync.Mutex
	idToken      string // raw, the id_token_hint of "Esci"
	refreshToken string
	refreshAt    time.Time // when the access token expires
}

// hint is the ID token "Esci" sends as id_token_hint.
func (se *session) hint() string {
	se.mu.Lock()
	defer se.mu.Unlock()
	return se.idToken
}

// store keeps pending logins, sessions and the ids of logout tokens
// already used, in memory.
type store struct {
	mu      sync.Mutex
	now     func() time.Time
	pending map[string]*pendingLogin // by the login cookie
	byID    map[string]*session      // by the session cookie
	seenJTI map[string]time.Time     // logout token id -> when it can be forgotten
}

func newStore(now func() time.Time) *store {
	return &store{now: now, pending: map[string]*pendingLogin{}, byID: map[string]*session{}, seenJTI: map[string]time.Time{}}
}

// sweep forgets what has expired; called with mu held.
func (s *store) sweep() {
	now := s.now()
	for k, p := range s.pending {
		if now.After(p.expires) {
			delete(s.pending, k)
		}
	}
	for k, se := range s.byID {
		if now.After(se.expires) {
			delete(s.byID, k)
		}
	}
	for k, until := range s.seenJTI {
		if now.After(until) {
			delete(s.seenJTI, k)
		}
	}
}

func (s *store) putPending(id string, p *pendingLogin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	s.pending[id] = p
}

// takePending returns the pending login once: a callback cannot be replayed.
func (s *store) takePending(id string) (*pendingLogin, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[id]
	delete(s.pending, id)
	if !ok || s.now().After(p.expires) {
		return nil, false
	}
	return p, true
}

func (s *store) putSession(id string, se *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	s.byID[id] = se
}

func (s *store) session(id string) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.byID[id]
	if !ok || s.now().After(se.expires) {
		return nil, false
	}
	return se, true
}

func (s *store) deleteSession(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// endSID deletes every session of the provider's session sid and returns
// how many there were.
func (s *store) endSID(sid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, se := range s.byID {
		if subtle.ConstantTimeCompare([]byte(se.sid), []byte(sid)) == 1 {
			delete(s.byID, k)
			n++
		}
	}
	return n
}

// firstUse records a logout token id until forgetAt and reports whether it
// was new.
func (s *store) firstUse(jti string, forgetAt time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	if _, seen := s.seenJTI[jti]; seen {
		return false
	}
	s.seenJTI[jti] = forgetAt
	return true
}

// randomID returns 32 random bytes from r as unpadded base64url text.
func randomID(r io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
