// Package idptest provides test helpers: a running login service over real
// TLS with real stores, for the tests of idp and its protocol packages.
package idptest
