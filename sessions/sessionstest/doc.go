// Package sessionstest holds the conformance suite that every sessions.Store
// and sessions.Ephemeral backend passes (Run), the controllable Clock it
// drives them with, and helpers to reach a real Redis in tests: the address
// of a shared server (RedisAddr) or a private redis-server process the test
// can stop and restart (StartRedisServer), and private deployments to fail
// over: a 3-master Cluster with replicas (StartRedisCluster) and a Sentinel
// set (StartRedisSentinel). It imports the standard library, sessions, and
// go-redis only to read the topology of those deployments.
//
// It tests through the two interfaces only and never reaches into a
// backend's keys or tables; a backend's own checks stay in its package.
//
// # Files
//
//	doc.go            this map
//	suite.go          Factory, Run, the shared case helpers, Clock (NewClock, Advance, Set)
//	store_cases.go    the Store cases: create, get, touch, deadlines, participants, delete
//	index_cases.go    the per-citizen and per-card index cases (ListByFiscalCode, DeleteByCard, ...)
//	ephemeral.go      the Ephemeral cases: put, put-new, take, deadlines, races
//	combined_cases.go the cases of Swap, RunWithSession and AddParticipantAndPut (sessions.Combiner or not)
//	redis.go          RedisAddr, PingRedis, Unavailable, StartRedisServer, Eventually: reaching a real Redis
//	cluster.go        StartRedisCluster: six nodes, CLUSTER NODES read back, promotion and rejoin awaited
//	sentinel.go       StartRedisSentinel: master, replica, three sentinels, +switch-master watched
package sessionstest
