package x509cns

import (
	"context"
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
	// MaxIntermediates caps the intermediates presented after the leaf
	// (config trust.max_intermediates); more are refused with
	// ReasonChainTooLong before any signature is checked. 0 means
	// DefaultMaxIntermediates.
	MaxIntermediates int
	// MaxSignatureChecks is the budget of signature verifications one
	// validation may spend building its chain; once spent, the chain is
	// refused with ReasonChainTooLong. 0 means DefaultMaxSignatureChecks.
	MaxSignatureChecks int
}

// The limits of chain building. Real CNS chains have no intermediate (each
// regional "CA Cittadini" root has pathLen 0) and the CIE one: a normal card
// costs one or two signature checks.
const (
	DefaultMaxIntermediates   = 4
	DefaultMaxSignatureChecks = 16
)

// DefaultPolicy is the policy of a fresh configuration.
func DefaultPolicy() Policy {
	return Policy{Policies: DefaultPolicies(), RequireClientAuthEKU: true, MinRSABits: 2048,
		MaxIntermediates: DefaultMaxIntermediates, MaxSignatureChecks: DefaultMaxSignatureChecks}
}

func (p Policy) maxIntermediates() int {
	if p.MaxIntermediates > 0 {
		return p.MaxIntermediates
	}
	return DefaultMaxIntermediates
}

func (p Policy) maxSignatureChecks() int {
	if p.MaxSignatureChecks > 0 {
		return p.MaxSignatureChecks
	}
	return DefaultMaxSignatureChecks
}

// Validator checks presented card chains. It is immutable: on a trust-store
// reload the caller builds a new one and swaps it.
type Validator struct {
	Anchors Anchors
	// Intermediates, when set, completes chains the client presented
	// without some CA certificate (config trust.intermediate_dirs): chain
	// building tries them after the presented intermediates, never as
	// anchors. *IntermediatePool implements it.
	Intermediates Anchors
	Policy        Policy
}

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

// Validate is ValidateContext without a context, for callers that have
// none (the inspect command, tests).
func (v *Validator) Validate(presented []*x509.Certificate, at time.Time) (*Result, error) {
	return v.ValidateContext(context.Background(), presented, at)
}

// ValidateContext checks a chain as presented by a client (leaf first, then
// any intermediates, in any order) at time at. Its cost is bounded before
// any work: too many intermediates are refused unread, chain building
// spends at most the policy's signature-check budget, and it stops when ctx
// ends. The error is a *Rejection.
func (v *Validator) ValidateContext(ctx context.Context, presented []*x509.Certificate, at time.Time) (*Result, error) {
	if len(presented) == 0 || presented[0] == nil {
		return nil, Reject(ReasonNoCertificate, "no client certificate presented")
	}
	leaf := presented[0]
	if n, limit := len(presented)-1, v.Policy.maxIntermediates(); n > limit {
		return nil, Reject(ReasonChainTooLong, "%d intermediate certificates presented, at most %d accepted", n, limit)
	}
	if leaf.BasicConstraintsValid && leaf.IsCA {
		return nil, Reject(ReasonNotEndEntity, "the certificate presented as a card is a CA certificate (basicConstraints CA:TRUE)")
	}
	chain, err := v.buildChain(ctx, leaf, presented[1:], at)
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
