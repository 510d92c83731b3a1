// Package revocation answers one question about a card certificate whose
// chain x509cns has already verified: is it revoked? The answer is a Result
// that says good, revoked (with time and reason) or unavailable (with the
// cause, and whether the cause was only the network), and Decide turns it
// into nil or an *x509cns.Rejection under the failure policy.
//
// It owns the CRL and OCSP machinery and their caches:
//
//   - CRLs from the certificate's HTTP distribution points, from files and
//     from per-issuer URL overrides; fetched with bounded size and time,
//     refreshed in the background before nextUpdate with jitter and
//     conditional GET; parsed by a streaming DER reader into a compact
//     table of fixed-width serials with a hash index (a million entries
//     cost ~33 bytes each; a lookup costs the same at any size). The
//     signature is always checked against the issuer from the verified
//     chain or the trust store, the CRL number may not go backwards, and a
//     CRL past nextUpdate plus the grace period no longer vouches for
//     anyone.
//   - OCSP requests (SHA-1 or SHA-256 CertID, optional RFC 8954 nonce)
//     POSTed to the AIA or configured responder; responses verified against
//     the issuer or a delegated id-kp-OCSPSigning certificate issued by it,
//     matched on CertID, checked for freshness, cached until nextUpdate, and
//     collapsed when identical queries run concurrently.
//   - The mode (crl, ocsp, crl_then_ocsp, ocsp_then_crl, none), the failure
//     policy (closed, or open for network failures only), the events that
//     report serials newly listed by a refreshed CRL, and a small Recorder
//     for metrics.
//
// Decisions a reader may look for:
//
//   - OCSP "unknown" is unavailable with ErrUnknownCert, not a network
//     failure: failure "open" never admits it, and the fall-through modes
//     ask the other method.
//   - With OCSPNonce on, an answer without the nonce, or with another one,
//     is refused (ErrNonce, unavailable, never forgiven by failure "open"):
//     RFC 8954 §2.1 lets a client insist, and one that asks for a nonce
//     and takes an answer without it gains nothing against replay. The
//     fall-through modes then ask the CRL.
//   - The HTTP client follows no redirect by default (RedirectSameHost
//     allows a few within the same scheme and host:port), takes only
//     absolute http(s) URLs, drops any userinfo, keeps no cookies, and
//     caps bodies (CRLMaxBytes; 64 KiB for OCSP). A refused redirect or an
//     oversized body is not a network failure.
//   - HTTP 5xx and the OCSP statuses tryLater and internalError count as
//     network failures: an attacker on the path can forge them as easily as
//     a dropped connection. Every other failure (4xx, bad signature,
//     unauthorised responder, stale data, rollback, malformed data, no
//     source) is not forgiven by failure "open".
//   - A stale CRL still answers "revoked" for the serials it lists; for the
//     others it is unavailable (ErrStale), never good.
//   - The first CRL loaded for an issuer emits a RevokedEvent with First
//     set (check every session of the issuer with Revoked); later ones
//     report the serials they add. Revoked answers from the cache alone.
//   - A CRL is read into one buffer of exactly its DER size, which its
//     outer header gives: one announcing more than CRLMaxBytes is refused
//     after a few bytes, a PEM CRL is decoded as it is read, anything else
//     is refused after its first line, and bytes after the CRL count
//     against the cap. No download reads more than CRLMaxBytes+1 bytes.
//   - With CRLCacheDir, every CRL fetched from a URL is saved (one file
//     per issuer, CacheFileName; temporary file, fsync, rename) and loaded
//     by Start after the files and before any fetch: a restart while a CRL
//     server is down keeps answering until that CRL's nextUpdate plus
//     grace. A cached file counts only if a trusted CA whose file it would
//     be verifies it; a corrupt, foreign, expired or nextUpdate-less file
//     is ignored with a log line. A cached CRL is compared with the next
//     one fetched like any other (RevokedEvent).
//   - A CRL with an issuingDistributionPoint URI covers only certificates
//     naming that URI; indirect, delta and reason-partitioned CRLs are
//     refused (ErrUnsupported).
//   - Check checks one certificate against its issuer; a login calls
//     VerifyChain, which checks every certificate of the verified chain
//     except the anchor (a sub-CA such as the CIE SUBCA1 against its
//     root's CRL or OCSP), with the same sources, caches and failure
//     policy, from the top down, stopping at the first refusal.
//
// It never builds or verifies chains, never fetches issuer certificates
// (no AIA caIssuers), and never decides anything about a certificate other
// than its revocation: that is x509cns's job. It imports the standard
// library, golang.org/x/crypto and x509cns only; the configuration is
// mapped onto Options by the caller.
//
// # Files
//
//	doc.go         this map
//	options.go     Mode, Failure, Options and their defaults, Issuers, Recorder, RevokedEvent
//	result.go      Status, Method, Result, Decide
//	checker.go     Checker: New, Start, Check, Verify, Refresh, Close, the background loop
//	chain.go       CheckChain, VerifyChain: every link of a verified chain but the anchor
//	crlcache.go    the per-issuer CRL cache: sources, staleness, install, on-demand fetch
//	lookup.go      Revoked: the cache-only answer for a session's card
//	state.go       CRLStates, OCSPStates: the caches' state for the security team's console
//	crlfetch.go    CRL sources: HTTP fetch with conditional GET, files
//	crlread.go     readBounded: DER or PEM into one buffer of the DER's size, capped
//	crlstore.go    the CRL cache directory: CacheFileName, atomic writes, loading at start
//	crlparse.go    the streaming CRL reader: scope, issuingDistributionPoint, signature
//	crlentries.go  the revoked entries, read into a serialTable
//	crltable.go    serialTable: fixed-width serials with a hash index
//	crlmem.go      the arrays of a large serialTable mapped outside the Go heap, given back once it is unreachable (crlmem_unix.go, crlmem_other.go)
//	ocsp.go        the OCSP client and cache: responder URL, nonce, freshness, delegated signers
//	ocspder.go     the RFC 6960 request and response, written and read with cryptobyte
//	sigalg.go      the signature algorithms accepted on OCSP responses
//	flight.go      concurrent identical queries collapsed into one
//	httpclient.go  the HTTP client's limits: redirects, http(s) URLs only, no credentials or cookies
package revocation
