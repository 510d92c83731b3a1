// Package cnstest mints an in-process test PKI shaped like the real Italian
// card PKI, the way smallstep's minica does for TLS: regional "CA Cittadini"
// roots, the CIE root → SUBCA1 chain, TS-CNS authentication certificates
// with every quirk of the real profile (a CN of the form CF/CARDID.HASH whose
// hash holds '/' and '+', hand-encoded certificate policies with CPS and user
// notice qualifiers, critical KeyUsage, clientAuth), and every deviation a
// test needs (expired, wrong policy, SHA-1, RSA 1024, bad check character,
// serialNumber-style subjects, raw subjects).
//
// It owns the CAs' signing state: issued serials, revocations, CRL numbers,
// and an OCSP responder (http.Handler) that answers RFC 6960 requests and can
// misbehave on purpose. It is used by the tests of every package, by the
// revocation checker's tests and by "cnsgate demo"; production code must not
// import it for anything else. It reads x509cns for OIDs and fiscal-code
// arithmetic and never decides whether a certificate is acceptable: that is
// x509cns's job.
//
// RSA key generation is slow, so keys come from a process-wide pool (see Key
// and SharedKey): CA keys are unique in the process; card keys and OCSP
// responder keys are drawn from a small shared set. Time and randomness are fields of each CA (Now,
// Rand); the key pool is the only package-level state.
//
// # Files
//
//	doc.go       this map
//	ca.go        CA: NewRegionalCA, NewCIERoot, NewSubCA, Rekey, the real CA names
//	options.go   CAOption and its With* options
//	card.go      CardOptions, Card, IssueCard: the TS-CNS card profile and its deviations
//	identity.go  generated fiscal codes, card ids and CN values (CNSCommonName)
//	policy.go    Policy: certificatePolicies with CPS and user-notice qualifiers, hand-encoded
//	issue.go     Issue: any other certificate signed by a CA and recorded for CRLs and OCSP
//	hostile.go   SelfIssuedChain: a card behind n self-issued intermediates named like a CA
//	crl.go       Revoke, CRL, CRLServer: revocations, CRLs and a CRL distribution point
//	ocsp.go      OCSPOptions, OCSPResponder: an RFC 6960 responder that can misbehave on purpose
//	ocspder.go   the RFC 6960 request and response structures, NewOCSPRequest, ResponseNonce
//	files.go     PEM of cards and CAs, WriteFiles and WriteCAFiles
//	load.go      LoadCA, AddIssued: a CA rebuilt from its files (the demo)
//	keys.go      the process-wide RSA key pool: Key, SharedKey, Warm
//	tsl.go       TrustedList, TSLSigner: an ETSI TS 119 612 list like AgID's, signed with goxmldsig
//	tsl_xmlsec.go  SignXMLSec1: the same list signed by xmlsec1, a signer nobody here wrote
package cnstest
