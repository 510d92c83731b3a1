package redisstore

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// Fields of a session hash written before the one-letter fields of
// record.go: the record as JSON (without ID and participants) and the
// deadlines under long names. Such a record is still read, touched,
// joined and deleted during a rolling upgrade; it expires as it would
// have, and new sessions are written in the compact form only.
const (
	legacyRecord   = "rec"
	legacyIdle     = "idle"
	legacyAbsolute = "abs"
	legacySeen     = "seen"
	legacyIdleTO   = "ito"
)

// decodeLegacy rebuilds a session from a hash of the earlier format,
// without its participants (decode adds them).
func decodeLegacy(m map[string]string, corrupt func(string, error) error) (*sessions.Session, error) {
	var s sessions.Session
	if err := json.Unmarshal([]byte(m[legacyRecord]), &s); err != nil {
		return nil, corrupt(legacyRecord, err)
	}
	for _, f := range []struct {
		name string
		set  func(int64)
	}{
		{legacyIdle, func(v int64) { s.IdleDeadline = time.UnixMilli(v).UTC() }},
		{legacyAbsolute, func(v int64) { s.AbsoluteDeadline = time.UnixMilli(v).UTC() }},
		{legacySeen, func(v int64) { s.LastSeen = time.UnixMilli(v).UTC() }},
		{legacyIdleTO, func(v int64) { s.IdleTimeout = time.Duration(v) * time.Millisecond }},
	} {
		v, err := strconv.ParseInt(m[f.name], 10, 64)
		if err != nil {
			return nil, corrupt(f.name, err)
		}
		f.set(v)
	}
	s.Participants = nil
	return &s, nil
}
