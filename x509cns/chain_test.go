package x509cns_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestValidateIntermediates holds a presented intermediate to RFC 5280
// (item 5 of issue 13): CA:TRUE with keyCertSign, pathLen and name
// constraints honoured, and an ExtKeyUsage, when present, allowing
// clientAuth.
func TestValidateIntermediates(t *testing.T) {
	p := newTestPKI(t)
	edit := func(f func(*x509.Certificate)) []cnstest.CAOption {
		return []cnstest.CAOption{cnstest.WithCATemplate(f)}
	}
	ext := func(der []byte) func(*x509.Certificate) {
		return func(tpl *x509.Certificate) {
			tpl.ExtraExtensions = append(tpl.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 30}, Critical: true, Value: der})
		}
	}
	cardName := pkix.RDNSequence{{{Type: x509cns.OIDCountry, Value: "IT"}}, {{Type: x509cns.OIDOrganization, Value: cnstest.CIEOrg}}}
	tests := []struct {
		name string
		opts []cnstest.CAOption
		want x509cns.Reason
	}{
		{"ok/subca", nil, ""},
		{"ok/eku-clientauth", edit(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth} }), ""},
		{"ok/eku-any", edit(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageAny} }), ""},
		{"ok/name-constraints-permit-subject", edit(ext(dirConstraints(t, []pkix.RDNSequence{cardName[:1]}, nil))), ""},
		{"ok/name-constraints-case-and-spaces", edit(ext(dirConstraints(t, []pkix.RDNSequence{{{{Type: x509cns.OIDCountry, Value: "it"}}, {{Type: x509cns.OIDOrganization, Value: " ministero  dell'interno "}}}}, nil))), ""},
		{"fail/not-ca", edit(func(c *x509.Certificate) { c.IsCA, c.MaxPathLen, c.MaxPathLenZero = false, -1, false }), x509cns.ReasonUnknownIssuer},
		{"fail/no-basic-constraints", edit(func(c *x509.Certificate) {
			c.BasicConstraintsValid, c.IsCA, c.MaxPathLen, c.MaxPathLenZero = false, false, -1, false
		}), x509cns.ReasonUnknownIssuer},
		{"fail/no-keycertsign", edit(func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature }), x509cns.ReasonUnknownIssuer},
		{"fail/no-key-usage", edit(func(c *x509.Certificate) { c.KeyUsage = 0 }), x509cns.ReasonUnknownIssuer},
		{"fail/eku-server-only", edit(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }), x509cns.ReasonUnknownIssuer},
		{"fail/name-constraints-exclude-subject", edit(ext(dirConstraints(t, nil, []pkix.RDNSequence{cardName}))), x509cns.ReasonUnknownIssuer},
		{"fail/name-constraints-permit-other", edit(ext(dirConstraints(t, []pkix.RDNSequence{{{{Type: x509cns.OIDCountry, Value: "FR"}}}}, nil))), x509cns.ReasonUnknownIssuer},
		{"fail/name-constraints-unsupported-type", edit(ext(otherNameConstraint(t))), x509cns.ReasonUnknownIssuer},
		{"fail/unknown-critical-extension", edit(func(c *x509.Certificate) {
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 7}, Critical: true, Value: []byte{5, 0}})
		}), x509cns.ReasonUnknownIssuer},
	}
	v := &x509cns.Validator{Anchors: p.store, Policy: x509cns.DefaultPolicy()}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := p.cieRoot.NewSubCA(cnstest.CIESubCA1CN, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			card := sub.MustIssueCard(cnstest.CardOptions{})
			_, err = v.Validate(append([]*x509.Certificate{card.Cert}, card.Chain...), p.now)
			t.Log(err)
			if got := x509cns.ReasonOf(err); got != tt.want {
				t.Fatalf("reason = %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

// TestValidateIntermediatePathLen: an intermediate's pathLen counts the
// intermediates below it.
func TestValidateIntermediatePathLen(t *testing.T) {
	p := newTestPKI(t)
	v := &x509cns.Validator{Anchors: p.store, Policy: x509cns.DefaultPolicy()}
	for _, tt := range []struct {
		name    string
		pathLen int
		want    x509cns.Reason
	}{{"fail/pathlen-0-with-one-below", 0, x509cns.ReasonUnknownIssuer}, {"ok/pathlen-1", 1, ""}} {
		t.Run(tt.name, func(t *testing.T) {
			sub1, err := p.cieRoot.NewSubCA("Sub 1", cnstest.WithCATemplate(func(c *x509.Certificate) {
				c.MaxPathLen, c.MaxPathLenZero = tt.pathLen, tt.pathLen == 0
			}))
			if err != nil {
				t.Fatal(err)
			}
			sub2, err := sub1.NewSubCA("Sub 2")
			if err != nil {
				t.Fatal(err)
			}
			card := sub2.MustIssueCard(cnstest.CardOptions{})
			_, err = v.Validate(append([]*x509.Certificate{card.Cert}, card.Chain...), p.now)
			t.Log(err)
			if got := x509cns.ReasonOf(err); got != tt.want {
				t.Fatalf("reason = %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

type generalSubtree struct {
	Base asn1.RawValue
}

type nameConstraints struct {
	Permitted []generalSubtree `asn1:"optional,tag:0"`
	Excluded  []generalSubtree `asn1:"optional,tag:1"`
}

// dirConstraints encodes a nameConstraints extension of directoryName
// subtrees, which crypto/x509 cannot write.
func dirConstraints(t *testing.T, permitted, excluded []pkix.RDNSequence) []byte {
	t.Helper()
	subtrees := func(names []pkix.RDNSequence) []generalSubtree {
		var out []generalSubtree
		for _, n := range names {
			der, err := asn1.Marshal(n)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, generalSubtree{Base: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: der}})
		}
		return out
	}
	der, err := asn1.Marshal(nameConstraints{Permitted: subtrees(permitted), Excluded: subtrees(excluded)})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// otherNameConstraint permits an otherName subtree, which nobody here can
// evaluate.
func otherNameConstraint(t *testing.T) []byte {
	t.Helper()
	der, err := asn1.Marshal(nameConstraints{Permitted: []generalSubtree{{Base: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: []byte{6, 1, 42, 0xa0, 2, 5, 0}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestValidateContextEnded: chain building stops when the request's context
// has ended, before any signature check, and says why.
func TestValidateContextEnded(t *testing.T) {
	p := newTestPKI(t)
	card := p.cieSub.MustIssueCard(cnstest.CardOptions{})
	v := &x509cns.Validator{Anchors: p.store, Policy: x509cns.DefaultPolicy()}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := v.ValidateContext(ctx, append([]*x509.Certificate{card.Cert}, card.Chain...), p.now)
	if x509cns.ReasonOf(err) != x509cns.ReasonInternal || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want internal_error wrapping context.Canceled", err)
	}
	if _, err := v.ValidateContext(context.Background(), append([]*x509.Certificate{card.Cert}, card.Chain...), p.now); err != nil {
		t.Fatalf("live context: %v", err)
	}
}
