// Package apachetest runs, for a test, an Apache HTTP Server 2.4 of its
// own (Debian's apache2, with the modules the test names) and the daemons
// beside it: each in a process group of its own, in a temporary server
// root, stopped when the test ends, with its output and error log shown
// when the test failed. The mod_auth_mellon and Shibboleth SP tests
// (idp/saml) and the mod_auth_openidc tests (cmd/cnsgate) use it; nothing
// outside tests does.
//
// # Files
//
//	doc.go       this map
//	apache.go    Config, Start, Server: httpd.conf written, checked (apache2 -t), started and waited for
//	process.go   Process, StartProcess: a child of the test in its own group, stopped by SIGTERM at the test's end
package apachetest
