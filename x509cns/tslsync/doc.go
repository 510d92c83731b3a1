// Package tslsync keeps AgID's trusted list (ETSI TS 119 612, TSL-IT.xml)
// current for the trust store: it fetches the list from trust.tsl_url on a
// schedule, accepts it only when its XML signature verifies with the
// configured signer, it yields at least one anchor usable now and it is
// not an older issue than the list in use, persists the last good list,
// and hands every new one to its caller, which rebuilds the trust store.
//
// A fetch that fails (network, HTTP status, timeout, size, XML, signature,
// rollback) changes nothing: the last good list stays in use, the failure
// is logged with its precise reason and counted by outcome. The list read
// from the cache file at start is verified again like a fetched one.
//
// It owns the fetch, the schedule and the cache file; what a list means
// (which services, which certificates may be anchors) is x509cns's
// LoadTSL, and when a new trust store is published is its caller's.
//
// # Files
//
//	doc.go     this map
//	syncer.go  Options, Syncer, List, the outcomes, Run: the schedule
//	fetch.go   one fetch: bounded in time and size, conditional, verified, installed
//	cache.go   the cache file: written atomically, read and verified at start
package tslsync
