// Package registrytest gives tests a database for the registry: a SQLite
// file in a temporary directory, or a fresh schema of a real PostgreSQL,
// dropped when the test ends, so that tests of parallel packages never meet.
//
// It only hands out DSNs, to pass to sqlstore.Open; it imports nothing of
// the project, so the SQL store's own tests can use it.
//
// # Files
//
//	doc.go           this map
//	registrytest.go  SQLiteDSN, PostgresDSN (a throw-away schema), DefaultPostgresDSN
//	private.go       StartPrivatePostgres: a server of the test's own, to Freeze (SIGSTOP) and Thaw
package registrytest
