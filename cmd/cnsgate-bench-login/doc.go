// Command cnsgate-bench-login measures a full card login on `cnsgate
// serve` side by side with a bare Go baseline doing the same cryptography,
// so that progress is judged by a ratio measured in one run, never by
// absolute rates on a machine shared with others.
//
// It prepares a demo directory (card PKI, the citizen card, the Esenzioni
// client), starts one `cnsgate serve` per binary given (-cnsgate
// before=A,after=B measures two builds in the same run), each with its own
// listeners and registry (a copy of the demo's SQLite file, or a PostgreSQL
// database it creates and drops), and the baseline: this tool again as
// `serve-baseline`, TLS 1.2 with RequireAndVerifyClientCert against the
// same card CAs, the same ECDSA P-256 server certificate, one ES256
// signature with the same key per request. The servers are pinned with
// taskset to one CPU (-server-cpu) and the tool to the others.
//
// A cnsgate operation is the whole OIDC login a browser and a relying
// party make: /authorize with PKCE, the card page, the card over a new
// mutual-TLS connection, the handoff, the code, POST /token and the ID
// token verified by go-oidc. A baseline operation is a new mutual-TLS
// connection and one signed answer. The workloads run interleaved (A, B,
// A, B) for -rounds rounds of -duration; each round prints the rate,
// p50/p99 latency, the server's CPU time per operation (/proc/PID/stat of
// the child) and, with PostgreSQL, its transactions per login
// (pg_stat_database of the target's own database). The totals end with the
// rate and server-CPU ratios to the baseline.
//
// -workload chooses what is driven, each kind against its own baseline
// and interleaved the same way: login (the above), token (POST /token on
// kept-alive connections; the codes are prepared before the clock starts
// by the /authorize of a browser holding a session, so neither the card
// login nor the code's /authorize is measured), userinfo and introspect
// (an access token's, kept-alive). The baseline's second listener answers
// them barely: POST /token with the form and basic auth read and one
// signature in a JSON answer; /userinfo and /introspect with the request
// read and a small JSON answer. Each round also prints the load
// generator's own CPU per operation and the share of its CPUs it used: a
// generator near 100 % is what limits the rate and the latency. The report
// ends with the generator's floor of each workload's mean latency, c × its
// CPU per operation / its CPUs (Little's law): no p99 below it can be
// measured, whatever the server does.
//
// With -hostile, each cnsgate also gets workloads that present hostile
// chains on new mutual-TLS connections to /cns/login (14 self-issued
// intermediates named like the demo CA; 4, within trust.max_intermediates)
// and count an operation when the server refuses it; the report gives each
// one's server CPU per refusal over the same server's CPU per login.
//
// # Files
//
//	doc.go       this comment
//	main.go      flags, the serve-baseline child mode, pinning the tool itself
//	run.go       the run: demo, servers, the workloads, warm-up, interleaved rounds
//	servers.go   targets: their configuration, registry, start, readiness; PostgreSQL statistics
//	login.go     the relying party and browser of a full card login, the code of a session's /authorize, POST /token
//	workloads.go -workload: the kinds, their operations and preparations on cnsgate and on the baseline
//	baseline.go  the bare baseline server and its operation
//	baseline_public.go the baseline's keep-alive listener: POST /token, /userinfo, /introspect
//	cards.go     the citizen cards of the run, minted by the demo CA and registered
//	servercheck.go the generator's check of the servers' certificates: full once per chain, then compared
//	hostile.go   -hostile: chains an unauthenticated client presents to make the server work
//	stats.go     rounds, percentiles, the server's and the generator's CPU per operation, the report
//	profile.go   -cpuprofile: each cnsgate's CPU profile from its admin listener (CNSGATE_PPROF=1), unmeasured; -generator-cpuprofile
package main
