package x509cns_test

import (
	"crypto/x509"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// BenchmarkValidateChain compares, in one run, what the server spends on
// the certificates of one card login for a normal card and for the hostile
// chains of issue 13 item 1: Validate alone ("validate"), and with the
// parsing of every presented DER that crypto/tls does before cnsgate sees
// the chain ("parse+validate"). Each sub-benchmark reports anchor-lookups/op
// (how far the chain builder searched) besides ns/op.
func BenchmarkValidateChain(b *testing.B) {
	p := newTestPKI(b)
	regional := p.toscana.MustIssueCard(cnstest.CardOptions{})
	cie := p.cieSub.MustIssueCard(cnstest.CardOptions{})
	hostile, err := p.toscana.SelfIssuedChain(14, cnstest.CardOptions{})
	if err != nil {
		b.Fatal(err)
	}
	// Within the cap, named like an anchor without a path length limit:
	// the most a chain of four can make the builder verify.
	worst, err := p.cieRoot.SelfIssuedChain(4, cnstest.CardOptions{})
	if err != nil {
		b.Fatal(err)
	}
	uncapped := x509cns.DefaultPolicy()
	uncapped.MaxIntermediates = 14
	for _, bc := range []struct {
		name   string
		card   *cnstest.Card
		policy x509cns.Policy
		want   x509cns.Reason
	}{
		{"normal-regional-card", regional, x509cns.DefaultPolicy(), ""},
		{"normal-cie-card", cie, x509cns.DefaultPolicy(), ""},
		{"hostile-14-self-issued", hostile, x509cns.DefaultPolicy(), x509cns.ReasonChainTooLong},
		{"hostile-4-self-issued-within-cap", worst, x509cns.DefaultPolicy(), x509cns.ReasonUnknownIssuer},
		{"hostile-14-self-issued-cap-raised-to-14", hostile, uncapped, x509cns.ReasonChainTooLong},
	} {
		ders := [][]byte{bc.card.Cert.Raw}
		for _, c := range bc.card.Chain {
			ders = append(ders, c.Raw)
		}
		parsed := parseAll(b, ders)
		for _, parse := range []bool{false, true} {
			name := bc.name + "/validate"
			if parse {
				name = bc.name + "/parse+validate"
			}
			b.Run(name, func(b *testing.B) {
				counting := &countingAnchors{Anchors: p.store}
				v := &x509cns.Validator{Anchors: counting, Policy: bc.policy}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					chain := parsed
					if parse {
						chain = parseAll(b, ders)
					}
					_, err := v.Validate(chain, p.now)
					if got := x509cns.ReasonOf(err); got != bc.want {
						b.Fatalf("reason %q (%v), want %q", got, err, bc.want)
					}
				}
				b.ReportMetric(float64(counting.lookups)/float64(b.N), "anchor-lookups/op")
			})
		}
	}
}

// parseAll parses DER certificates as the TLS server does with those a
// client presents.
func parseAll(b *testing.B, ders [][]byte) []*x509.Certificate {
	chain := make([]*x509.Certificate, len(ders))
	for j, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			b.Fatal(err)
		}
		chain[j] = c
	}
	return chain
}

// countingAnchors counts the anchor lookups of the chain builder.
type countingAnchors struct {
	x509cns.Anchors
	lookups int
}

func (c *countingAnchors) Issuers(cert *x509.Certificate) []*x509.Certificate {
	c.lookups++
	return c.Anchors.Issuers(cert)
}
