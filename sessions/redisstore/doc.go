// Package redisstore keeps sessions.Store and sessions.Ephemeral in Redis
// through a go-redis/v9 UniversalClient, so that every replica of cnsgate
// shares them: a standalone server, Sentinel or Cluster. NewClient builds
// the client of the configured mode itself (sessions.redis.mode; when unset,
// derived as redis.NewUniversalClient would), because the universal client
// cannot be told how to follow a Cluster failover: the ClusterClient built
// here reloads its slot map on every connection error and retries on the
// fresh map (cluster.go).
//
// # Layout
//
// With the default prefix "cnsgate:", and hex SHA-256 digests written H():
//
//	cnsgate:s:{H(id)}          hash: the session (see below)
//	cnsgate:c:{H(fiscal)}      hash, a field per H(id): the citizen's sessions
//	cnsgate:k:{fingerprint}    hash, a field per H(id): sessions opened with the card
//	cnsgate:e:<ns>:{H(key)}    string "<deadline unix ms>:<value>"
//
// No key name holds a session id, a code or a fiscal code. Get and
// GetByHash read one session key (HGETALL), never an index; GetByHash
// refuses a hash that is not 64 lowercase hex digits before it reaches a
// key name.
//
// Every field name of the session hash is one letter and every value a
// short string (record.go): f fiscal code, c card fingerprint, n serial,
// u issuer, k issuer key id, t auth time (unix ns), m AMR and r roles
// (JSON arrays), q ACR, o and O organisation id and name, g and F given
// and family name, R region, d card id, y card type, C created (unix ns),
// s last seen, i idle and a absolute deadline (unix ms), l idle timeout
// (ms); unset text fields are left out. Hex values (fingerprint, serial,
// key id) are stored as their bytes after a NUL, and the ACR and AMR of a
// card login, which nearly every session has, as the one byte 0x01.
// Each participant is one field
// "p:<protocol> <client id>" holding [joined unix ns, sid, name id];
// HSETNX on that field makes AddParticipant idempotent. Values of at most
// 64 bytes keep the hash in Redis's compact listpack encoding, and the
// index hashes (empty values) likewise. TestRedisFootprintOfLogin in
// cmd/cnsgate measures what one login leaves in Redis.
//
// # Rolling upgrade
//
// Sessions written by the earlier layout (legacy.go: a JSON field rec and
// the deadlines under idle, abs, seen and ito, listed in the sets cf:{…}
// and card:{…}) are still read, touched, joined, listed, scanned and
// deleted; the scripts find their deadlines under either name. Nothing
// writes that layout any more, and its keys expire with their sessions.
// An index member must keep its form under its key name: a replica of the
// earlier code that cannot read a member takes it for a session gone and
// prunes it, unlisting a live session (so a new form needs new key names,
// as c: and k: replaced cf: and card:).
//
// # Time
//
// Deadlines are decided with the Now option, never by Redis: the scripts
// receive the current time as an argument. Redis TTLs only clean up: a
// session key lives until its idle deadline plus Grace, an index until
// the absolute deadline of its longest-lived member plus Grace, an ephemeral
// value until its own deadline plus Grace. A record still present past its
// deadline is deleted and reported as expired when next read.
//
// # Atomicity and Redis Cluster
//
// On a Cluster every script and every MULTI/EXEC touches a single key,
// since the keys above hash to different slots (the braces are hash
// tags). Each single-key step is atomic: a session is created together
// with its TTL (the script createSession, which on one server, standalone
// or Sentinel, also adds the index entries in the same step); Delete reads
// and deletes the hash in one MULTI (HGETALL, DEL), so of two concurrent
// deletions exactly one receives the record; Touch and AddParticipant are
// Lua scripts that check the deadlines and update in one step; Take is
// GETDEL, Swap is SET ... GET and PutNew a script. AddParticipantAndPut (the OIDC code with its
// client's participant record) is the addParticipant script given the
// values' keys too, off Cluster; on a Cluster the values are put after the
// script. RunWithSession is a pipeline: each command in it is atomic, the
// whole is not.
//
// Where the indexes are updated by separate commands, it is in an order
// that keeps them a superset of the live sessions: on a Cluster, Create
// adds the id hash to both indexes before writing the session, and
// deletion always removes the session before its index entries. A failure
// between the steps leaves a stale index member, never an unlisted
// session, and stale members (session gone or expired) are
// pruned whenever an index is read. So DeleteByCard never misses a session
// created before it ran, even if Redis failed half-way through an earlier
// call.
//
// # Files
//
//	doc.go        this map
//	client.go     Mode, Options, NewClient: standalone, Sentinel (failover client) or Cluster
//	cluster.go    the ClusterClient and its reload policy (reloadHook, topologyError)
//	store.go      Store, StoreOptions, New: the key names and the Store methods
//	record.go     the session hash encoded and decoded (one-letter fields)
//	legacy.go     the session hash of the earlier layout, still decoded
//	scripts.go    the Lua scripts: createSession, touch, addParticipant, addToIndex, putNew
//	index.go      the per-citizen and per-card index hashes (and the earlier sets), pruned when read
//	scan.go       ScanSessions: every session record walked with SCAN, for the revocation sweep
//	ephemeral.go  Ephemeral: short-lived values with their deadline, Swap; GetMany and PutMany, one pipeline each
//	combined.go   Ephemeral as a sessions.Combiner of its Store: RunWithSession (one pipeline), AddParticipantAndPut (one script off Cluster)
package redisstore
