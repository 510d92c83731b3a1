// Package idptest provides test helpers: a running login service over real
// TLS with real stores, for the tests of idp and its protocol packages.
//
// It starts what a test asks for (memory or real Redis sessions, SQLite or
// real PostgreSQL through idp/registry/registrytest, an in-process card PKI
// from x509cns/cnstest) and closes it when the test ends; it never replaces
// a store with a fake, and production code must not import it.
//
// # Files
//
//	doc.go      this map
//	env.go      Options, Env, New: the running service; session stores, registries, pre-registered cards
//	browser.go  Browser and Page: a cookie-keeping client presenting a card, CSRF, Register and Login
//	logs.go     LogCapture, FiscalCodeFreeLogger: every log line kept; a fiscal code in full fails the test
package idptest
