package x509cns

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"time"
)

// Anchors finds the trusted CA certificates that may have issued a
// certificate. *TrustStore implements it.
type Anchors interface {
	Issuers(cert *x509.Certificate) []*x509.Certificate
}

// Policy is what a card certificate must satisfy beyond chaining to an anchor.
type Policy struct {
	// Policies lists the accepted certificate policies; the leaf must carry
	// one of them. Empty means DefaultPolicies.
	Policies []asn1.ObjectIdentifier
	// RequireClientAuthEKU refuses leaves whose ExtKeyUsage lacks clientAuth.
	RequireClientAuthEKU bool
	// MinRSABits is the smallest RSA modulus accepted (default 2048).
	MinRSABits int
	// AllowSHA1 accepts SHA-1 signatures on the leaf and intermediates
	// (old cards); MD5 is never accepted.
	AllowSHA1 bool
}

// DefaultPolicy is the policy of a fresh configuration.
func DefaultPolicy() Policy {
	return Policy{Policies: DefaultPolicies(), RequireClientAuthEKU: true, MinRSABits: 2048}
}

// Validator checks presented card chains. It is immutable: on a trust-store
// reload the caller builds a new one and swaps it.
type Validator struct {
	Anchors Anchors
	Policy  Policy
}

// maxChainDepth bounds chain building: leaf, up to two intermediates, anchor.
const maxChainDepth = 4

// Result is an accepted card.
type Result struct {
	// Chain runs from the leaf to the trust anchor that accepted it.
	Chain    []*x509.Certificate
	Identity *Identity
}

// Leaf returns the card certificate.
func (r *Result) Leaf() *x509.Certificate { return r.Chain[0] }

// Issuer returns the certificate of the CA that issued the card.
func (r *Result) Issuer() *x509.Certificate { return r.Chain[1] }

// Validate checks a chain as presented by a client (leaf first, then any
// intermediates, in any order) at time at. The error is a *Rejection.
func (v *Validator) Validate(presented []*x509.Certificate, at time.Time) (*Result, error) {
	if len(presented) == 0 || presented[0] == nil {
		return nil, Reject(ReasonNoCertificate, "no client certificate presented")
	}
	leaf := presented[0]
	chain, err := v.buildChain(leaf, presented[1:], at)
	if err != nil {
		return nil, err
	}
	if err := v.checkLeaf(leaf); err != nil {
		return nil, err
	}
	id, err := ExtractIdentity(leaf, chain[1])
	if err != nil {
		return nil, err
	}
	return &Result{Chain: chain, Identity: id}, nil
}

// buildChain finds a path from leaf to an anchor through the presented
// intermediates. Among the paths whose signatures verify it prefers one that
// is valid at time at; if none is, the time problem of the first path found
// is reported, so an expired card reads "expired" rather than "unknown".
func (v *Validator) buildChain(leaf *x509.Certificate, intermediates []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	b := chainBuilder{v: v, intermediates: intermediates, at: at}
	if chain := b.walk([]*x509.Certificate{leaf}); chain != nil {
		return chain, nil
	}
	if b.firstTimeErr != nil {
		return nil, b.firstTimeErr
	}
	if b.firstSigErr != nil {
		return nil, b.firstSigErr
	}
	return nil, Reject(ReasonUnknownIssuer, "no trusted CA issued %q", leaf.Issuer.String())
}

// chainBuilder searches a path from a leaf to a trust anchor, remembering
// the first signature and validity failures met on the way: when no path
// is found, they say why better than "unknown issuer".
type chainBuilder struct {
	v             *Validator
	intermediates []*x509.Certificate
	at            time.Time
	firstTimeErr  error
	firstSigErr   error
}

// walk extends path to a trust anchor, depth first, or returns nil.
func (b *chainBuilder) walk(path []*x509.Certificate) []*x509.Certificate {
	if len(path) > maxChainDepth {
		return nil
	}
	// Trust anchors first: a chain that ends at an anchor is complete.
	if chain := b.toAnchor(path); chain != nil {
		return chain
	}
	cur := path[len(path)-1]
	for _, im := range b.intermediates {
		if im == nil || inPath(path, im) || !bytes.Equal(im.RawSubject, cur.RawIssuer) {
			continue
		}
		if !b.linked(cur, im, len(path)-1) {
			continue
		}
		if c := b.walk(append(append([]*x509.Certificate(nil), path...), im)); c != nil {
			return c
		}
	}
	return nil
}

// toAnchor completes path with a trust anchor that issued its last
// certificate and within whose validity the whole chain is, or returns nil.
func (b *chainBuilder) toAnchor(path []*x509.Certificate) []*x509.Certificate {
	cur := path[len(path)-1]
	for _, a := range b.v.Anchors.Issuers(cur) {
		if inPath(path, a) || !b.linked(cur, a, len(path)-1) {
			continue
		}
		cand := append(append([]*x509.Certificate(nil), path...), a)
		if err := checkTimes(cand, b.at); err != nil {
			if b.firstTimeErr == nil {
				b.firstTimeErr = err
			}
			continue
		}
		return cand
	}
	return nil
}

// linked reports whether issuer signed cert, keeping the first failure.
func (b *chainBuilder) linked(cert, issuer *x509.Certificate, depth int) bool {
	err := b.v.checkLink(cert, issuer, depth)
	if err != nil && b.firstSigErr == nil {
		b.firstSigErr = err
	}
	return err == nil
}

func inPath(path []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range path {
		if bytes.Equal(p.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// checkLink verifies that parent may have issued child, depth being the
// number of certificates below parent's direct child (0 when child is the leaf).
func (v *Validator) checkLink(child, parent *x509.Certificate, depth int) error {
	if !(parent.BasicConstraintsValid && parent.IsCA) && !(parent.Version == 1 && bytes.Equal(parent.RawSubject, parent.RawIssuer)) {
		return Reject(ReasonUnknownIssuer, "issuer %q is not a CA", parent.Subject.CommonName)
	}
	if parent.KeyUsage != 0 && parent.KeyUsage&x509.KeyUsageCertSign == 0 {
		return Reject(ReasonUnknownIssuer, "issuer %q may not sign certificates", parent.Subject.CommonName)
	}
	// Intermediates between parent and the leaf: depth of them, the leaf excluded.
	if parent.BasicConstraintsValid && (parent.MaxPathLen > 0 || parent.MaxPathLenZero) && depth > parent.MaxPathLen {
		return Reject(ReasonUnknownIssuer, "path length constraint of %q exceeded", parent.Subject.CommonName)
	}
	if err := v.checkSignatureAlgorithm(child, depth == 0); err != nil {
		return err
	}
	// CheckSignature (unlike CheckSignatureFrom) still verifies SHA-1
	// signatures; whether SHA-1 is acceptable was decided just above.
	if err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature); err != nil {
		return &Rejection{Reason: ReasonUnknownIssuer, Detail: MaskFiscalCodes(fmt.Sprintf("signature of %q does not verify with %q", child.Subject.CommonName, parent.Subject.CommonName)), Err: err}
	}
	return nil
}

func (v *Validator) checkSignatureAlgorithm(c *x509.Certificate, leaf bool) error {
	switch c.SignatureAlgorithm {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.UnknownSignatureAlgorithm:
		return Reject(ReasonWeakSignature, "signature algorithm %v is not accepted", c.SignatureAlgorithm)
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1:
		if !v.Policy.AllowSHA1 {
			what := "intermediate"
			if leaf {
				what = "card"
			}
			return Reject(ReasonWeakSignature, "%s certificate is signed with SHA-1", what)
		}
	}
	return nil
}

// checkTimes reports the first certificate of chain not valid at time at.
func checkTimes(chain []*x509.Certificate, at time.Time) error {
	for i, c := range chain {
		what := "card certificate"
		if i > 0 {
			what = fmt.Sprintf("CA certificate %q", c.Subject.CommonName)
		}
		if at.Before(c.NotBefore) {
			return Reject(ReasonNotYetValid, "%s is valid from %s", what, c.NotBefore.UTC().Format(time.RFC3339))
		}
		if at.After(c.NotAfter) {
			return Reject(ReasonExpired, "%s expired on %s", what, c.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// checkLeaf applies the key, usage and policy rules to the card certificate.
func (v *Validator) checkLeaf(leaf *x509.Certificate) error {
	minBits := v.Policy.MinRSABits
	if minBits == 0 {
		minBits = 2048
	}
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minBits {
			return Reject(ReasonWeakKey, "RSA key of %d bits, at least %d required", k.N.BitLen(), minBits)
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return Reject(ReasonWeakKey, "ECDSA key on %s is too small", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return Reject(ReasonWeakKey, "unsupported public key type %T", leaf.PublicKey)
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return Reject(ReasonBadKeyUsage, "key usage lacks digitalSignature")
	}
	if v.Policy.RequireClientAuthEKU && !hasClientAuth(leaf) {
		return Reject(ReasonBadExtKeyUsage, "extended key usage lacks clientAuth")
	}
	accepted := v.Policy.Policies
	if len(accepted) == 0 {
		accepted = DefaultPolicies()
	}
	for _, p := range leaf.PolicyIdentifiers {
		for _, a := range accepted {
			if p.Equal(a) {
				return nil
			}
		}
	}
	return Reject(ReasonBadPolicy, "no accepted certificate policy among %v", leaf.PolicyIdentifiers)
}

func hasClientAuth(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}
