package oidc

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"
)

// The stored form of grants and used-markers: one- or two-letter names,
// deadlines and expiries in unix milliseconds, the session hash in
// base64url (43 characters, not 64), so that a code, refresh token or
// access token costs Redis as few bytes as the fields themselves. The
// citizen's auth time is the session's, read with it: a grant does not
// repeat it. Records stored in the earlier forms (the long names of the
// struct tags with RFC 3339 times; the short names with times in unix ns
// under d and x and a hex session hash) are still read: a rolling upgrade
// keeps every live token.
//
// No short name equals a long one, ignoring case as encoding/json does, so
// a record of one form never half-decodes as the other.

type grantWire struct {
	Family      string           `json:"f"`
	ClientID    string           `json:"c"`
	Scopes      []string         `json:"s,omitempty"`
	SessionHash string           `json:"h"`
	FiscalCode  string           `json:"cf"`
	SID         string           `json:"i,omitempty"`
	Deadline    int64            `json:"dm,omitempty"` // unix ms
	DeadlineNS  int64            `json:"d,omitempty"`  // unix ns, the earlier short form
	RedirectURI string           `json:"r,omitempty"`
	Challenge   string           `json:"pk,omitempty"`
	Nonce       string           `json:"n,omitempty"`
	Claims      *requestedClaims `json:"cl,omitempty"`
	ACR         string           `json:"a,omitempty"`
	Offline     bool             `json:"o,omitempty"`
	Expires     int64            `json:"xm,omitempty"` // unix ms
	ExpiresNS   int64            `json:"x,omitempty"`  // unix ns, the earlier short form
}

// grantLegacy decodes the earlier form: grant's own tags, without its
// methods.
type grantLegacy grant

// MarshalJSON writes the short form. The sid is left out when it is the
// one sidFor derives from the session and client, as it always is.
func (g grant) MarshalJSON() ([]byte, error) {
	if g.SID == sidFor(g.SessionHash, g.ClientID) {
		g.SID = ""
	}
	return appendWire(make([]byte, 0, 384), &grantWire{
		Family: g.Family, ClientID: g.ClientID, Scopes: g.Scopes, SessionHash: packHash(g.SessionHash),
		FiscalCode: g.FiscalCode, SID: g.SID, Deadline: unixMilli(g.Deadline),
		RedirectURI: g.RedirectURI, Challenge: g.Challenge, Nonce: g.Nonce, Claims: g.Claims,
		ACR: g.ACR, Offline: g.Offline, Expires: unixMilli(g.Expires),
	})
}

// UnmarshalJSON reads either form.
func (g *grant) UnmarshalJSON(b []byte) error {
	var w grantWire
	if err := unmarshalWire(b, &w); err != nil {
		return err
	}
	if w.Family == "" {
		return json.Unmarshal(b, (*grantLegacy)(g))
	}
	*g = grant{
		Family: w.Family, ClientID: w.ClientID, Scopes: w.Scopes, SessionHash: unpackHash(w.SessionHash),
		FiscalCode: w.FiscalCode, SID: w.SID, Deadline: fromUnix(w.Deadline, w.DeadlineNS),
		RedirectURI: w.RedirectURI, Challenge: w.Challenge, Nonce: w.Nonce, Claims: w.Claims,
		ACR: w.ACR, Offline: w.Offline, Expires: fromUnix(w.Expires, w.ExpiresNS),
	}
	if g.SID == "" {
		g.SID = sidFor(g.SessionHash, g.ClientID)
	}
	return nil
}

type markerWire struct {
	Family     string `json:"f"`
	Deadline   int64  `json:"dm,omitempty"` // unix ms
	DeadlineNS int64  `json:"d,omitempty"`  // unix ns, the earlier short form
	UsedAt     int64  `json:"u,omitempty"`
	ClientID   string `json:"c,omitempty"`
}

type markerLegacy usedMarker

// MarshalJSON writes the short form.
func (m usedMarker) MarshalJSON() ([]byte, error) {
	return json.Marshal(markerWire{Family: m.Family, Deadline: unixMilli(m.Deadline), UsedAt: unixNano(m.UsedAt), ClientID: m.ClientID})
}

// UnmarshalJSON reads either form.
func (m *usedMarker) UnmarshalJSON(b []byte) error {
	var w markerWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Family == "" {
		return json.Unmarshal(b, (*markerLegacy)(m))
	}
	*m = usedMarker{Family: w.Family, Deadline: fromUnix(w.Deadline, w.DeadlineNS), UsedAt: fromUnixNano(w.UsedAt), ClientID: w.ClientID}
	return nil
}

// packHash writes a session hash (HashKey: 64 lower-case hex digits) as
// the 43 base64url characters of its bytes; anything else as it is.
func packHash(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != h {
		return h
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// unpackHash is the inverse of packHash; a hash stored in hex (the
// earlier form) is read as it is.
func unpackHash(v string) string {
	if len(v) != 43 {
		return v
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) != sha256.Size {
		return v
	}
	return hex.EncodeToString(b)
}

// unixMilli is t in unix milliseconds, 0 for the zero time: deadlines and
// expiries, which the session store keeps to the millisecond too.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromUnix reads a time stored in unix ms, or else in unix ns (the earlier
// short form), in UTC.
func fromUnix(ms, ns int64) time.Time {
	if ms != 0 {
		return time.UnixMilli(ms).UTC()
	}
	return fromUnixNano(ns)
}

// unixNano is t in unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano is the inverse of unixNano, in UTC.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
