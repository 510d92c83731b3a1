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
//
// # Files
//
//	doc.go                 this map
//	reason.go              Reason, the fixed set of rejection reasons, Rejection, Reject, ReasonOf
//	validate.go            Policy, Validator, Result, ValidateContext: the checks on a presented chain and its card
//	chain.go               chain building, bounded: intermediates cap, signature budget, top-down search, context
//	nameconstraints.go     name constraints of every CA in a chain, directoryName subtrees included
//	identity.go            Identity, ExtractIdentity, ParseCN: who a card belongs to, read from the DER subject
//	fiscalcode.go          fiscal codes (check character, omocodia, MaskFiscalCode) and card ids (Luhn, type)
//	cardtype.go            ClassifyCard: the card type, with the CIE and the Chambers of Commerce's tokens named
//	mask.go                MaskFiscalCodes: every fiscal code in a text masked (rejection details, log lines)
//	region.go              the region of a card, from its issuing CA (RegionOf, RegionFromName)
//	oids.go                the certificate policies and subject attribute OIDs, DefaultPolicies
//	certs.go               ParseCertificates: PEM or DER certificates from a presented chain or a file
//	truststore.go          TrustStore: every version of each anchor, found by name and AKI/SKI
//	truststore_classify.go whether a candidate may be an anchor, and is usable (CertStatus, AddResult)
//	truststore_report.go   LoadPEMDir and LoadReport: what a PEM directory held, kept or skipped
//	intermediates.go       IntermediatePool: CA certificates that complete chains, never anchors
//	tsl.go                 LoadTSL: the ETSI TS 119 612 trusted list, its signature, the IdV services
//	tsl_intermediates.go   the sub-CAs a list holds beside their root, routed to the intermediate pool
//	tsl_parse.go           the trusted list's XML, read into services and their certificates, and its TSLScheme
//	cnstest/               the in-process test PKI
//	pemfile/               the PEM reading every package shares
//	revocation/            CRL and OCSP
package x509cns
