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
//	cnsgate:cf:{H(fiscal)}     set of H(id): the citizen's sessions
//	cnsgate:card:{fingerprint} set of H(id): sessions opened with the card
//	cnsgate:e:<ns>:{H(key)}    string "<deadline unix ms>:<value>"
//
// No key name holds a session id, a code or a fiscal code. Get and
// GetByHash read one session key (HGETALL), never an index set; GetByHash
// refuses a hash that is not 64 lowercase hex digits before it reaches a
// key name. The session hash
// has the fields rec (the record as JSON, without ID and participants), idle,
// abs and seen (the idle and absolute deadlines and last activity, unix ms),
// ito (the idle timeout, ms), and one field "p:<protocol> <client id>" per
// participant, holding it as JSON; HSETNX on that field makes AddParticipant
// idempotent.
//
// # Time
//
// Deadlines are decided with the Now option, never by Redis: the scripts
// receive the current time as an argument. Redis TTLs only clean up: a
// session key lives until its idle deadline plus Grace, an index set until
// the absolute deadline of its longest-lived member plus Grace, an ephemeral
// value until its own deadline plus Grace. A record still present past its
// deadline is deleted and reported as expired when next read.
//
// # Atomicity and Redis Cluster
//
// Every script and every MULTI/EXEC touches a single key, so the store works
// unchanged on a Cluster, where the keys above hash to different slots (the
// braces are hash tags). Each single-key step is atomic: a session is created
// together with its TTL (MULTI: HSET, PEXPIRE); Delete reads and deletes the
// hash in one MULTI (HGETALL, DEL), so of two concurrent deletions exactly one
// receives the record; Touch and AddParticipant are Lua scripts that check the
// deadlines and update in one step; Take is GETDEL and PutNew a script.
//
// The indexes are updated by separate commands, in an order that keeps them
// a superset of the live sessions: Create adds the id hash to both indexes
// before writing the session, and deletion removes the session before its
// index entries. A failure between the steps leaves a stale index member,
// never an unlisted session, and stale members (session gone or expired) are
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
//	record.go     the session hash encoded and decoded, the Lua scripts (touch, participants, put-new)
//	index.go      the per-citizen and per-card index sets, pruned when read
//	scan.go       ScanSessions: every session record walked with SCAN, for the revocation sweep
//	ephemeral.go  Ephemeral: short-lived values with their deadline
package redisstore
