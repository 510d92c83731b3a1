package redisstore

import "github.com/redis/go-redis/v9"

// Every script touches the one key it is given on a Cluster (Cluster-safe;
// createSession and addParticipant are given more keys only off Cluster)
// and takes the current time from its caller, whose clock decides deadlines. Numbers are
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
// and the time in ARGV[1]. A record of the earlier format (legacy.go) has
// its deadlines under the long names, which the rest of the script then
// updates (names).
const deadlineCheck = `
local names = {'i', 'a', 'l', 's'}
local v = redis.call('HMGET', KEYS[1], 'i', 'a', 'l')
if not v[1] then
  names = {'idle', 'abs', 'ito', 'seen'}
  v = redis.call('HMGET', KEYS[1], 'idle', 'abs', 'ito')
end
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
redis.call('HSET', KEYS[1], names[1], string.format('%d', idle), names[4], string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], string.format('%d', idle - now + tonumber(ARGV[2])))
return 3
`)

// addParticipant records a participant unless its field exists. ARGV: now
// ms, field, participant JSON. Given more keys (not on a Cluster), it then
// sets each KEYS[k], k > 1, to ARGV[2k] with a TTL of ARGV[2k+1] ms: the
// ephemeral values of AddParticipantAndPut, stored only in a live session.
var addParticipant = redis.NewScript(deadlineCheck + `
redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
for k = 2, #KEYS do
  redis.call('SET', KEYS[k], ARGV[2 * k], 'PX', ARGV[2 * k + 1])
end
return 3
`)

// indexAdd is the body of addToIndex and createSession: add the field
// ARGV[3] to the index hash KEYS[k] and make it live at least ARGV[2] ms,
// never shortening it. PEXPIRE NX gives a new index its TTL in one
// command, PEXPIRE GT lengthens an existing one (Redis 7.0); a server
// older than 7.0 refuses the options, and the TTL is then read and set as
// before.
const indexAdd = `
local function index(k)
  redis.call('HSET', KEYS[k], ARGV[3], '')
  local set = redis.pcall('PEXPIRE', KEYS[k], ARGV[2], 'NX')
  if type(set) == 'table' then
    if redis.call('PTTL', KEYS[k]) < tonumber(ARGV[2]) then
      redis.call('PEXPIRE', KEYS[k], ARGV[2])
    end
  elseif set == 0 then
    redis.call('PEXPIRE', KEYS[k], ARGV[2], 'GT')
  end
end
`

// addToIndex adds a member to the index hash KEYS[1]. ARGV: unused, ttl ms,
// member (the arguments of createSession).
var addToIndex = redis.NewScript(indexAdd + `
index(1)
return 1
`)

// createSession writes the session hash KEYS[1] with its TTL and, when
// given (not on a Cluster), adds it to the index hashes KEYS[2] and KEYS[3]
// first. ARGV: session ttl ms, index ttl ms, session hash, then the
// hash's fields and values.
var createSession = redis.NewScript(indexAdd + `
for k = 2, #KEYS do index(k) end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
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
