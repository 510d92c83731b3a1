package redisstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions"
)

// Fields of the session hash (see doc.go).
const (
	fieldRecord   = "rec"
	fieldIdle     = "idle"
	fieldAbsolute = "abs"
	fieldSeen     = "seen"
	fieldIdleTO   = "ito"
	participantAt = "p:"
)

// encode turns a started session into the fields of its hash.
func encode(s *sessions.Session) (map[string]any, error) {
	rec := *s
	rec.Participants = nil
	b, err := json.Marshal(&rec)
	if err != nil {
		return nil, fmt.Errorf("sessions: redis: encoding session: %w", err)
	}
	fields := map[string]any{
		fieldRecord:   b,
		fieldIdle:     s.IdleDeadline.UnixMilli(),
		fieldAbsolute: s.AbsoluteDeadline.UnixMilli(),
		fieldSeen:     s.LastSeen.UnixMilli(),
		fieldIdleTO:   s.IdleTimeout.Milliseconds(),
	}
	for _, p := range s.Participants {
		field, val, err := encodeParticipant(p)
		if err != nil {
			return nil, err
		}
		if _, dup := fields[field]; !dup { // the first record of a party wins
			fields[field] = val
		}
	}
	return fields, nil
}

// encodeParticipant returns the hash field and value of a participant. The
// field names the protocol and client, so HSETNX keeps one per party.
func encodeParticipant(p sessions.Participant) (string, []byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", nil, fmt.Errorf("sessions: redis: encoding participant: %w", err)
	}
	return participantAt + p.Protocol + " " + p.ClientID, b, nil
}

// decode rebuilds a session from its hash; hash is its IDHash.
func decode(hash string, m map[string]string) (*sessions.Session, error) {
	corrupt := func(what string, err error) error {
		return fmt.Errorf("sessions: redis: session %.16s: bad %s: %v", hash, what, err)
	}
	var s sessions.Session
	if err := json.Unmarshal([]byte(m[fieldRecord]), &s); err != nil {
		return nil, corrupt(fieldRecord, err)
	}
	for _, f := range []struct {
		name string
		set  func(int64)
	}{
		{fieldIdle, func(v int64) { s.IdleDeadline = time.UnixMilli(v).UTC() }},
		{fieldAbsolute, func(v int64) { s.AbsoluteDeadline = time.UnixMilli(v).UTC() }},
		{fieldSeen, func(v int64) { s.LastSeen = time.UnixMilli(v).UTC() }},
		{fieldIdleTO, func(v int64) { s.IdleTimeout = time.Duration(v) * time.Millisecond }},
	} {
		v, err := strconv.ParseInt(m[f.name], 10, 64)
		if err != nil {
			return nil, corrupt(f.name, err)
		}
		f.set(v)
	}
	s.Participants = nil
	for field, val := range m {
		if !strings.HasPrefix(field, participantAt) {
			continue
		}
		var p sessions.Participant
		if err := json.Unmarshal([]byte(val), &p); err != nil {
			return nil, corrupt("participant", err)
		}
		s.Participants = append(s.Participants, p)
	}
	sessions.SortParticipants(s.Participants)
	s.IDHash = hash
	return &s, nil
}

// Every script touches the one key it is given (Cluster-safe) and takes the
// current time from its caller, whose clock decides deadlines. Numbers are
// written with %d: Lua would print large ones in exponent notation.

// Answers of touch and addParticipant.
const (
	scriptMissing  = 0
	scriptIdle     = 1
	scriptAbsolute = 2
	scriptDone     = 3
)

// deadlineCheck is the common head of touch and addParticipant: answer
// missing, or expired (absolute first), from the session hash in KEYS[1]
// and the time in ARGV[1].
const deadlineCheck = `
local v = redis.call('HMGET', KEYS[1], 'idle', 'abs', 'ito')
if not v[1] or not v[2] or not v[3] then return 0 end
local now = tonumber(ARGV[1])
local abs = tonumber(v[2])
if now >= abs then return 2 end
if now >= tonumber(v[1]) then return 1 end
`

// touch slides the idle deadline to now + idle timeout, capped at the
// absolute deadline, and the key's TTL with it. ARGV: now ms, grace ms.
var touch = redis.NewScript(deadlineCheck + `
local idle = math.min(now + tonumber(v[3]), abs)
redis.call('HSET', KEYS[1], 'idle', string.format('%d', idle), 'seen', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], string.format('%d', idle - now + tonumber(ARGV[2])))
return 3
`)

// addParticipant records a participant unless its field exists. ARGV: now
// ms, field, participant JSON.
var addParticipant = redis.NewScript(deadlineCheck + `
redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
return 3
`)

// addToIndex adds a member to an index set and makes the set live at least
// ARGV[2] ms, never shortening it. ARGV: member, ttl ms.
var addToIndex = redis.NewScript(`
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`)

// putNew stores ARGV[2] with TTL ARGV[3] ms unless the key holds a value
// whose deadline (the decimal before the first ':') is after ARGV[1].
var putNew = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local i = string.find(v, ':', 1, true)
  if i and tonumber(string.sub(v, 1, i - 1)) > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`)
