// Package demo prepares the self-contained demonstration that `cnsgate demo`
// (and `make run`) serves: a generated card PKI ("Regione Demo - CA
// Cittadini") with demo cards, a localhost TLS certificate, the OpenID
// Provider's signing key and secrets, and a configuration registering the
// example relying parties, all kept in one directory and reused on later
// runs (a directory from an earlier version gets the files it lacks).
//
// It only writes files; serving is cmd/cnsgate's job.
package demo
