// Package oidctest holds what the tests of the OpenID Provider and of its
// federation both do as a relying party of the Italian profiles: sign a
// request object, and open a nested (signed then encrypted) JWT the
// provider sends. Only tests import it.
//
// # Files
//
//	doc.go     this map
//	rp.go      RequestObject, OpenNested
package oidctest
