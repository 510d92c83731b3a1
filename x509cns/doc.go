// Package x509cns decides whether a presented CNS/CIE card certificate may log
// in, and who it belongs to.
//
// It owns the trust store (PEM directories and ETSI TS 119 612 trusted lists),
// the checks on a presented chain (anchor, validity, certificate policy,
// KeyUsage and ExtKeyUsage, key size, signature algorithm), the extraction of
// an Identity (fiscal code, card id, names, region) and fiscal-code
// validation. Every rejection carries a Reason from a fixed set that metrics,
// the audit trail and the citizen's error page share.
//
// It imports nothing of the project but its own leaf x509cns/pemfile (the
// PEM reading every package shares) and does no network I/O: revocation
// lives in x509cns/revocation, registration in idp/registry.
package x509cns
