package revocation

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/cnsgate/cnsgate/x509cns"
)

// CheckChain checks every certificate of a verified chain (leaf first,
// trust anchor last) except the anchor, each against the certificate
// after it, with the same sources and caches as Check. It returns one
// Result per link: results[i] is about chain[i]. A chain of fewer than two
// certificates gives one unavailable result (ErrNoIssuer).
func (c *Checker) CheckChain(ctx context.Context, chain []*x509.Certificate) []Result {
	if len(chain) < 2 {
		return []Result{{Method: MethodNone, Cause: ErrNoIssuer}}
	}
	out := make([]Result, len(chain)-1)
	for i := range out {
		out[i] = c.Check(ctx, chain[i], chain[i+1])
	}
	return out
}

// VerifyChain is what a login calls: it checks the links of a verified
// chain from the one nearest the anchor down to the leaf, applies the
// failure policy to each, and stops at the first refusal, so that a card
// under a revoked sub-CA is refused without asking about the card itself.
// It returns the deciding result (the leaf's when every link passes), the
// index in chain of the certificate it is about, and the refusal, if any:
// an *x509cns.Rejection whose Detail names the intermediate CA when the
// refused link is not the leaf. Mode none answers good at once.
func (c *Checker) VerifyChain(ctx context.Context, chain []*x509.Certificate) (Result, int, error) {
	if c.opts.Mode == ModeNone {
		return c.Check(ctx, nil, nil), 0, nil
	}
	if len(chain) < 2 {
		r := Result{Method: MethodNone, Cause: ErrNoIssuer}
		return r, 0, c.Decide(r)
	}
	var last Result
	for i := len(chain) - 2; i >= 0; i-- {
		last = c.Check(ctx, chain[i], chain[i+1])
		if err := c.Decide(last); err != nil {
			return last, i, linkRejection(err, i, chain[i])
		}
	}
	return last, 0, nil
}

// linkRejection names the intermediate CA in the detail of a refusal about
// a link other than the leaf.
func linkRejection(err error, i int, cert *x509.Certificate) error {
	var rej *x509cns.Rejection
	if i == 0 || cert == nil || !errors.As(err, &rej) {
		return err
	}
	out := *rej
	out.Detail = fmt.Sprintf("intermediate CA %q (chain position %d): %s", issuerLabel(cert), i, rej.Detail)
	return &out
}

// DecideChain applies the failure policy to the results CheckChain gave
// for chain, in the order VerifyChain does (nearest the anchor first), and
// returns the index of the first refused link and its refusal, or -1 and
// nil. It lets a report show every link and still decide as a login does.
func (c *Checker) DecideChain(chain []*x509.Certificate, results []Result) (int, error) {
	for i := len(results) - 1; i >= 0; i-- {
		if err := c.Decide(results[i]); err != nil {
			var cert *x509.Certificate
			if i < len(chain) {
				cert = chain[i]
			}
			return i, linkRejection(err, i, cert)
		}
	}
	return -1, nil
}
