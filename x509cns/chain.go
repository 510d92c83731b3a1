package x509cns

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"time"
)

// buildChain finds a path from leaf to an anchor through the presented
// intermediates and then those of the validator's pool. Among the paths whose signatures verify it prefers one that
// is valid at time at; if none is, the time problem of the first path found
// is reported, so an expired card reads "expired" rather than "unknown".
//
// The search is bounded: a path holds at most the policy's
// MaxIntermediates, each (certificate, issuer key) signature is verified at
// most once, at most MaxSignatureChecks verifications are spent, and the
// search ends when ctx does. A client presenting many certificates with the
// same name (each one a candidate issuer of every other) would otherwise
// make the server verify a signature for every edge of every path.
func (v *Validator) buildChain(ctx context.Context, leaf *x509.Certificate, presented []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	b := chainBuilder{
		v: v, ctx: ctx, intermediates: v.fromPool(leaf, distinct(leaf, presented)), at: at,
		maxPath: 1 + v.Policy.maxIntermediates(),
		budget:  v.Policy.maxSignatureChecks(),
		checked: map[signedBy]error{},
	}
	if chain := b.walk([]*x509.Certificate{leaf}); chain != nil {
		return chain, nil
	}
	for _, err := range []error{b.stop, b.firstTimeErr, b.firstSigErr} {
		if err != nil {
			return nil, err
		}
	}
	return nil, Reject(ReasonUnknownIssuer, "no trusted CA issued %q", leaf.Issuer.String())
}

// distinct returns the non-nil presented certificates other than the leaf,
// each once (compared by DER).
func distinct(leaf *x509.Certificate, presented []*x509.Certificate) []*x509.Certificate {
	out := make([]*x509.Certificate, 0, len(presented))
	for _, c := range presented {
		if c == nil || bytes.Equal(c.Raw, leaf.Raw) || inPath(out, c) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// fromPool appends to the presented intermediates the pool certificates
// that may have issued the leaf or one of them, then those that may have
// issued these, up to the policy's MaxIntermediates levels, each once. Only
// certificates named as an issuer on the way are taken, so a large pool
// costs a login nothing beyond its own chain; the search that follows is
// bounded as for presented certificates.
func (v *Validator) fromPool(leaf *x509.Certificate, presented []*x509.Certificate) []*x509.Certificate {
	if v.Intermediates == nil {
		return presented
	}
	out := presented
	frontier := append([]*x509.Certificate{leaf}, presented...)
	for level := 0; level < v.Policy.maxIntermediates() && len(frontier) > 0; level++ {
		var next []*x509.Certificate
		for _, c := range frontier {
			for _, im := range v.Intermediates.Issuers(c) {
				if bytes.Equal(im.Raw, leaf.Raw) || inPath(out, im) {
					continue
				}
				out = append(out, im)
				next = append(next, im)
			}
		}
		frontier = next
	}
	return out
}

// signedBy names one signature verification: child's signature under the
// public key of a candidate issuer.
type signedBy struct {
	child     *x509.Certificate
	issuerKey string // DER SubjectPublicKeyInfo
}

// chainBuilder searches a path from a leaf to a trust anchor, remembering
// the first signature and validity failures met on the way: when no path
// is found, they say why better than "unknown issuer".
type chainBuilder struct {
	v             *Validator
	ctx           context.Context
	intermediates []*x509.Certificate
	at            time.Time
	maxPath       int // certificates in a path below the anchor, leaf included
	budget        int // signature verifications left
	checked       map[signedBy]error
	reaches       map[*x509.Certificate]bool // intermediates an anchor reaches; nil until asked
	stop          error                      // the budget or the context ended the search
	firstTimeErr  error
	firstSigErr   error
}

// walk extends path to a trust anchor, depth first, or returns nil.
func (b *chainBuilder) walk(path []*x509.Certificate) []*x509.Certificate {
	if len(path) > b.maxPath || b.stop != nil {
		return nil
	}
	// Trust anchors first: a chain that ends at an anchor is complete.
	if chain := b.toAnchor(path); chain != nil {
		return chain
	}
	cur := path[len(path)-1]
	for _, im := range b.intermediates {
		if b.stop != nil {
			return nil
		}
		if inPath(path, im) || !bytes.Equal(im.RawSubject, cur.RawIssuer) {
			continue
		}
		if !b.anchored(im) || !b.linked(cur, im, len(path)-1, false) {
			continue
		}
		if c := b.walk(append(append([]*x509.Certificate(nil), path...), im)); c != nil {
			return c
		}
	}
	return nil
}

// anchored reports whether some trust anchor's key reaches intermediate
// c, directly or through other presented intermediates. The first call
// finds every such intermediate top-down: first those an anchor signed,
// then, until nothing changes, those signed by one already found. An
// intermediate's signature on another is thus verified only once the
// signer is known to reach an anchor, and a presented certificate that no
// anchor reaches costs one verification per anchor of its issuer's name,
// however many same-named certificates come with it. It decides nothing:
// walk still applies every check to the path it builds.
func (b *chainBuilder) anchored(c *x509.Certificate) bool {
	if b.reaches == nil {
		b.reaches = map[*x509.Certificate]bool{}
		b.findAnchored()
	}
	return b.reaches[c]
}

func (b *chainBuilder) findAnchored() {
	for _, im := range b.intermediates {
		for _, a := range b.v.Anchors.Issuers(im) {
			if b.stop == nil && !bytes.Equal(a.Raw, im.Raw) && b.verify(im, a) == nil {
				b.reaches[im] = true
				break
			}
		}
	}
	for grew := true; grew && b.stop == nil; {
		grew = false
		for _, im := range b.intermediates {
			if b.reaches[im] {
				continue
			}
			for _, by := range b.intermediates {
				if b.reaches[by] && bytes.Equal(by.RawSubject, im.RawIssuer) && b.verify(im, by) == nil {
					b.reaches[im], grew = true, true
					break
				}
			}
		}
	}
}

// toAnchor completes path with a trust anchor that issued its last
// certificate and within whose validity and name constraints the whole
// chain is, or returns nil.
func (b *chainBuilder) toAnchor(path []*x509.Certificate) []*x509.Certificate {
	cur := path[len(path)-1]
	for _, a := range b.v.Anchors.Issuers(cur) {
		if b.stop != nil {
			return nil
		}
		if inPath(path, a) || !b.linked(cur, a, len(path)-1, true) {
			continue
		}
		cand := append(append([]*x509.Certificate(nil), path...), a)
		if err := checkTimes(cand, b.at); err != nil {
			b.keep(&b.firstTimeErr, err)
			continue
		}
		if err := checkNameConstraints(cand); err != nil {
			b.keep(&b.firstSigErr, err)
			continue
		}
		return cand
	}
	return nil
}

func (b *chainBuilder) keep(first *error, err error) {
	if *first == nil {
		*first = err
	}
}

// linked reports whether issuer may have issued cert and signed it,
// keeping the first failure.
func (b *chainBuilder) linked(cert, issuer *x509.Certificate, depth int, anchor bool) bool {
	err := b.v.checkIssuer(issuer, depth, anchor)
	if err == nil {
		err = b.v.checkSignatureAlgorithm(cert, depth == 0)
	}
	if err == nil {
		err = b.verify(cert, issuer)
	}
	if err != nil {
		b.keep(&b.firstSigErr, err)
	}
	return err == nil
}

// verify checks cert's signature under issuer's key once per validation,
// within the budget and the context.
func (b *chainBuilder) verify(cert, issuer *x509.Certificate) error {
	k := signedBy{child: cert, issuerKey: string(issuer.RawSubjectPublicKeyInfo)}
	if err, done := b.checked[k]; done {
		return err
	}
	if err := b.ctx.Err(); err != nil {
		b.stop = &Rejection{Reason: ReasonInternal, Detail: "chain building abandoned", Err: err}
		return b.stop
	}
	if b.budget == 0 {
		b.stop = Reject(ReasonChainTooLong, "signature-check budget of %d spent before a chain to a trust anchor was found", b.v.Policy.maxSignatureChecks())
		return b.stop
	}
	b.budget--
	// CheckSignature (unlike CheckSignatureFrom) still verifies SHA-1
	// signatures; whether SHA-1 is acceptable was decided by the caller.
	var err error
	if e := issuer.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); e != nil {
		err = &Rejection{Reason: ReasonUnknownIssuer, Detail: MaskFiscalCodes(fmt.Sprintf("signature of %q does not verify with %q", cert.Subject.CommonName, issuer.Subject.CommonName)), Err: e}
	}
	b.checked[k] = err
	return err
}

func inPath(path []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range path {
		if bytes.Equal(p.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// checkIssuer verifies that parent may issue certificates at this place of
// the chain, depth being the number of certificates below parent's direct
// child (0 when that child is the leaf). An intermediate (anchor false) is
// held to RFC 5280 strictly: basicConstraints CA:TRUE, KeyUsage with
// keyCertSign, no critical extension left unread, and an ExtKeyUsage, when
// it has one, that allows clientAuth. A trust anchor was vetted when it was
// loaded: a v1 self-signed root and a root without KeyUsage are accepted.
func (v *Validator) checkIssuer(parent *x509.Certificate, depth int, anchor bool) error {
	name := parent.Subject.CommonName
	v1Root := parent.Version == 1 && bytes.Equal(parent.RawSubject, parent.RawIssuer)
	if !(parent.BasicConstraintsValid && parent.IsCA) && !(anchor && v1Root) {
		return Reject(ReasonUnknownIssuer, "issuer %q is not a CA", name)
	}
	if parent.KeyUsage&x509.KeyUsageCertSign == 0 && (!anchor || parent.KeyUsage != 0) {
		return Reject(ReasonUnknownIssuer, "issuer %q may not sign certificates", name)
	}
	// Intermediates between parent and the leaf: depth of them, the leaf excluded.
	if parent.BasicConstraintsValid && (parent.MaxPathLen > 0 || parent.MaxPathLenZero) && depth > parent.MaxPathLen {
		return Reject(ReasonUnknownIssuer, "path length constraint of %q exceeded", name)
	}
	if anchor {
		return nil
	}
	return checkIntermediateExtensions(parent)
}

// checkIntermediateExtensions refuses an intermediate with a critical
// extension nobody here reads, or an ExtKeyUsage without clientAuth.
func checkIntermediateExtensions(c *x509.Certificate) error {
	if unread := unreadCritical(c); len(unread) > 0 {
		return Reject(ReasonUnknownIssuer, "intermediate %q has critical extensions %v that cannot be honoured", c.Subject.CommonName, unread)
	}
	if (len(c.ExtKeyUsage) > 0 || len(c.UnknownExtKeyUsage) > 0) && !hasClientAuth(c) {
		return Reject(ReasonUnknownIssuer, "intermediate %q has an extended key usage without clientAuth", c.Subject.CommonName)
	}
	return nil
}
