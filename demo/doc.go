// Package demo prepares the self-contained demonstration that `cnsgate demo`
// (and `make run`) serves: a generated card PKI ("Regione Demo - CA
// Cittadini") with demo cards, a localhost TLS certificate, and a
// configuration pointing at them, all kept in one directory and reused on
// later runs.
//
// It only writes files; serving is cmd/cnsgate's job.
package demo
