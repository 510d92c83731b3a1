package revocation

import (
	"sort"
	"sync"
	"time"
)

// The state of the caches, read by the security team's console: for each
// CA the CRL it holds (age, next update, entries, last fetch error) and for
// each OCSP responder how its last answers went. Reading it never fetches.

// CRLState is what the checker holds of one issuer's CRLs.
type CRLState struct {
	Issuer     string    // the CA's common name (the metric label)
	Loaded     bool      // a CRL is installed
	Source     string    // where the installed CRL came from
	ThisUpdate time.Time // of the installed CRL
	NextUpdate time.Time // of the installed CRL; zero when it has none
	Entries    int       // revoked serials it lists
	LastError  string    // the last failed refresh, "" after a success
	Failures   int       // consecutive failed refreshes
	NextFetch  time.Time // next background refresh; zero when not scheduled
}

// Age is how old the installed CRL is at now (zero when none).
func (s CRLState) Age(now time.Time) time.Duration {
	if !s.Loaded {
		return 0
	}
	return now.Sub(s.ThisUpdate)
}

// OCSPState is how one OCSP responder has answered since the start.
type OCSPState struct {
	Responder   string
	Answers     int // verified answers
	Failures    int // unreachable or unusable answers
	LastAnswer  time.Time
	LastFailure time.Time
	LastError   string // of the last failure
}

// CRLStates returns the state of every issuer the checker knows, by name.
func (c *Checker) CRLStates() []CRLState {
	var out []CRLState
	for _, st := range c.allStates() {
		s := CRLState{Issuer: st.label}
		if cur := st.crl.Load(); cur != nil {
			s.Loaded, s.Source, s.ThisUpdate, s.NextUpdate, s.Entries = true, cur.source, cur.thisUpdate, cur.nextUpdate, cur.table.Len()
		}
		st.mu.Lock()
		if st.lastErr != nil {
			s.LastError = st.lastErr.Error()
		}
		s.Failures, s.NextFetch = st.failures, st.due
		st.mu.Unlock()
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Issuer < out[j].Issuer })
	return out
}

// OCSPStates returns the state of every responder asked so far, by URL.
func (c *Checker) OCSPStates() []OCSPState {
	return c.ocspStats.list()
}

// ocspStats records the answers of each responder.
type ocspStats struct {
	mu sync.Mutex
	m  map[string]*OCSPState
}

func (o *ocspStats) note(url string, at time.Time, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[string]*OCSPState{}
	}
	s := o.m[url]
	if s == nil {
		s = &OCSPState{Responder: url}
		o.m[url] = s
	}
	if err != nil {
		s.Failures, s.LastFailure, s.LastError = s.Failures+1, at, err.Error()
		return
	}
	s.Answers, s.LastAnswer = s.Answers+1, at
}

func (o *ocspStats) list() []OCSPState {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]OCSPState, 0, len(o.m))
	for _, s := range o.m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Responder < out[j].Responder })
	return out
}
